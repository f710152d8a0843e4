/* pec-signbench.c - signatures per second of the core (pec_smime_sign, RSA-2048, SHA-256) on one core,
 * for `make bench`.  Usage: pec-signbench CERT KEY [SECONDS]; prints "<signatures/s>". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "pec/buf.h"
#include "pec/smime.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct pec_error err = { 0 };
    struct pec_signer *s;
    static char content[5120];
    double secs = argc > 3 ? atof(argv[3]) : 3.0, t0, t;
    long n = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: pec-signbench CERT KEY [SECONDS]\n");
        return 2;
    }
    if ((s = pec_signer_load(argv[1], argv[2], NULL, &err)) == NULL) {
        fprintf(stderr, "pec-signbench: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < sizeof(content); i++)
        content[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : 'a' + i % 26;
    t0 = now();
    do {
        struct pec_buf der = PEC_BUF_INIT;
        if (pec_smime_sign(s, PEC_DIGEST_SHA256, time(NULL), content, sizeof(content), &der, &err) < 0) {
            fprintf(stderr, "pec-signbench: %s\n", err.msg);
            return 1;
        }
        pec_buf_release(&der);
        n++;
        t = now() - t0;
    } while (t < secs);
    printf("%.1f\n", n / t);
    pec_signer_free(&s);
    return 0;
}

/* regress.c - replay committed inputs through one fuzz target without libFuzzer (the unit suite, and its
 * AddressSanitizer run): every crash the fuzzer found stays fixed.
 * Usage: fuzz_regress_<target> DIR...   (every regular file in each DIR, in name order) */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run_file - one input through the target; -1 when it cannot be read */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long len;

    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    /* an exact-size copy, so that a read past the input is caught as it would be under libFuzzer */
    if ((data = malloc(len ? (size_t)len : 1)) == NULL || fread(data, 1, (size_t)len, f) != (size_t)len) {
        perror(path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    printf("%s (%ld bytes)\n", path, len);
    fflush(stdout);
    LLVMFuzzerTestOneInput(data, (size_t)len);
    free(data);
    return 0;
}

/* by_name - qsort order of file names */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* run_dir - every regular file of dir; the number run, or -1 */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **names = NULL, path[4096];
    size_t n = 0;
    int count = 0;

    if (d == NULL) {
        perror(dir);
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if ((names = realloc(names, (n + 1) * sizeof(*names))) == NULL || (names[n] = strdup(de->d_name)) == NULL)
            abort();
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++) {
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) < 0)
                count = -1;
            else if (count >= 0)
                count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

int main(int argc, char **argv)
{
    int total = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        int n = run_dir(argv[i]);

        if (n < 0)
            return 1;
        total += n;
    }
    printf("%d inputs replayed\n", total);
    return total > 0 ? 0 : 1;
}

/* pec-lmtp-mkbusta.c - test helper: a busta di trasporto built and signed with the core, for the lmtp
 * tests' variants that `pecctl example` does not write (X-TipoRicevuta breve/sintetica, other
 * recipients, two attachments).
 *
 * usage: pec-lmtp-mkbusta CERT KEY RICEVUTA TO CC OUT
 *   RICEVUTA  completa | breve | sintetica;  TO, CC  comma-separated addresses ("" for none) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pec/compose.h"
#include "pec/message.h"

int main(int argc, char **argv)
{
	static const char *const own[] = { "pec-esempio.test", "pec-remoto.test" };
	struct pec_issuer iss = { 0 };
	struct pec_daticert facts = { 0 };
	struct pec_compose c = { 0 };
	struct pec_buf orig = PEC_BUF_INIT, out = PEC_BUF_INIT;
	struct pec_error err = { 0 };
	struct pec_signer *signer;
	char id[PEC_ID_MAX], msgid[PEC_ID_MAX];
	time_t now = time(NULL);
	FILE *f;

	if (argc != 7) {
		fprintf(stderr, "usage: pec-lmtp-mkbusta CERT KEY RICEVUTA TO CC OUT\n");
		return 2;
	}
	pec_buf_printf(&orig,
		       "From: Alice Rossi <alice@pec-esempio.test>\r\n"
		       "To: %s\r\n"
		       "%s%s%s"
		       "Subject: Ordine con due allegati (%s)\r\n"
		       "Date: Mon, 23 Nov 2026 11:00:00 +0100\r\n"
		       "Message-ID: <client-%ld-%s@mua.example>\r\n"
		       "MIME-Version: 1.0\r\n"
		       "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
		       "\r\n"
		       "--b1\r\n"
		       "Content-Type: text/plain; charset=us-ascii\r\n"
		       "\r\n"
		       "In allegato l'ordine e il listino.\r\n"
		       "--b1\r\n"
		       "Content-Type: application/pdf; name=\"ordine.pdf\"\r\n"
		       "Content-Disposition: attachment; filename=\"ordine.pdf\"\r\n"
		       "Content-Transfer-Encoding: base64\r\n"
		       "\r\n"
		       "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWls\r\n"
		       "ZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==\r\n"
		       "--b1\r\n"
		       "Content-Type: text/csv; name=\"listino.csv\"\r\n"
		       "Content-Disposition: attachment; filename=\"listino.csv\"\r\n"
		       "Content-Transfer-Encoding: base64\r\n"
		       "\r\n"
		       "YXJ0aWNvbG87cHJlenpvCnZpdGk7MCwxMApidWxsb25pOzAsMDUK\r\n"
		       "--b1--\r\n",
		       argv[4], *argv[5] ? "Cc: " : "", argv[5], *argv[5] ? "\r\n" : "", argv[3], (long)now, argv[3]);
	if ((signer = pec_signer_load(argv[1], argv[2], NULL, &err)) == NULL ||
	    pec_message_facts(orig.data, orig.len, NULL, own, 2, &facts, &err) < 0)
		goto fail;
	iss.gestore = "Gestore Esempio S.p.A.";
	iss.service_address = "posta-certificata@pec-esempio.test";
	iss.signer = signer;
	iss.digest = PEC_DIGEST_SHA256;
	iss.ids = pec_idgen_new(7, "pec-esempio.test");
	pec_idgen_next(iss.ids, now, id);
	facts.identificativo = strdup(id);
	facts.ricevuta = pec_ricevuta_from_name(argv[3]);
	c.type = PEC_MSG_BUSTA_TRASPORTO;
	c.when = now;
	c.facts = &facts;
	c.original = orig.data;
	c.original_len = orig.len;
	if (pec_compose_build(&iss, &c, &out, msgid, &err) < 0)
		goto fail;
	if ((f = fopen(argv[6], "wb")) == NULL || fwrite(out.data, 1, out.len, f) != out.len || fclose(f) != 0) {
		perror(argv[6]);
		return 1;
	}
	printf("%s\n", msgid);
	return 0;
fail:
	fprintf(stderr, "pec-lmtp-mkbusta: %s\n", err.msg);
	return 1;
}

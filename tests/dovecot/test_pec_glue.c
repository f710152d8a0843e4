/* test_pec_glue.c - lib-test unit tests of the Dovecot adapter's glue: settings parsing, mailbox
 * choice, idempotence key, save-failure mapping, reply text.  Linked out of tree against libdovecot
 * (test_begin/test_assert/test_run) with the plugin's own glue objects. */
#include "lib.h"
#include "hex-binary.h"
#include "sha1.h"
#include "test-common.h"
#include "pec-glue.h"
#include "pec-settings.h"
#include "pec/userdb.h"

/* a fake settings source: NULL-terminated key/value pairs */
static const char *fake_lookup(const char *key, void *context)
{
	const char *const *kv = context;

	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], key) == 0)
			return kv[1];
	return NULL;
}

static void test_settings_defaults(void)
{
	const char *const none[] = { NULL };
	struct pec_settings set;
	const char *error = NULL;

	test_begin("settings: nothing set");
	test_assert(pec_settings_parse(fake_lookup, (void *)none, &set, &error) == 0);
	test_assert(set.config_path == NULL);
	test_assert(!set.accept_ordinary);
	test_assert(!set.mailbox_disabled);
	test_assert(set.notify == NULL);
	test_assert(set.anomaly_mailbox == NULL);
	test_end();
}

static void test_settings_values(void)
{
	const char *const yes[] = { "pec_config", "/etc/pec/provider.conf", "pec_accept_ordinary", "yes",
				    "pec_notify", "bob@example.org", "pec_mailbox_disabled", "no",
				    "pec_anomaly_mailbox", "Anomalie", "pec_archive", "Archivio",
				    "pec_archive_quota", "3G", NULL };
	const char *const no[] = { "pec_accept_ordinary", "no", "pec_config", "", "pec_notify", "", NULL };
	const char *const upper[] = { "pec_accept_ordinary", "YES", "pec_mailbox_disabled", "1", NULL };
	struct pec_settings set;
	const char *error = NULL;

	test_begin("settings: yes / no / empty");
	test_assert(pec_settings_parse(fake_lookup, (void *)yes, &set, &error) == 0);
	test_assert_strcmp(set.config_path, "/etc/pec/provider.conf");
	test_assert(set.accept_ordinary);
	test_assert(!set.mailbox_disabled);
	test_assert_strcmp(set.notify, "bob@example.org");
	test_assert_strcmp(set.anomaly_mailbox, "Anomalie");
	test_assert_strcmp(set.archive, "Archivio");
	test_assert(set.archive_quota == 3ULL << 30);
	test_assert(pec_settings_parse(fake_lookup, (void *)no, &set, &error) == 0);
	test_assert(!set.accept_ordinary);
	test_assert(set.config_path == NULL); /* empty counts as unset */
	test_assert(set.notify == NULL);
	test_assert(pec_settings_parse(fake_lookup, (void *)upper, &set, &error) == 0);
	test_assert(set.accept_ordinary);
	test_assert(set.mailbox_disabled);
	test_end();
}

static void test_settings_errors(void)
{
	const char *const bad_bool[] = { "pec_accept_ordinary", "maybe", NULL };
	const char *const bad_notify[] = { "pec_notify", "not-an-address", NULL };
	const char *const bad_size[] = { "pec_archive_quota", "3 GB", NULL };
	struct pec_settings set;
	const char *error = NULL;

	test_begin("settings: invalid values name the key");
	test_assert(pec_settings_parse(fake_lookup, (void *)bad_bool, &set, &error) == -1);
	test_assert(error != NULL && strstr(error, "pec_accept_ordinary") != NULL && strstr(error, "maybe") != NULL);
	error = NULL;
	test_assert(pec_settings_parse(fake_lookup, (void *)bad_notify, &set, &error) == -1);
	test_assert(error != NULL && strstr(error, "pec_notify") != NULL);
	error = NULL;
	test_assert(pec_settings_parse(fake_lookup, (void *)bad_size, &set, &error) == -1);
	test_assert(error != NULL && strstr(error, "pec_archive_quota") != NULL);
	test_end();
}

static void test_parse_size(void)
{
	unsigned long long n = 1;

	test_begin("parse_size (the core's, as the settings use it)");
	test_assert(pec_userdb_size(NULL, &n) == 1 && n == 0);
	test_assert(pec_userdb_size("1024", &n) == 1 && n == 1024);
	test_assert(pec_userdb_size("8k", &n) == 1 && n == 8192);
	test_assert(pec_userdb_size("3G", &n) == 1 && n == 3ULL << 30);
	test_assert(pec_userdb_size("2t", &n) == 1 && n == 2ULL << 40);
	test_assert(pec_userdb_size("G", &n) == 0);
	test_assert(pec_userdb_size("3GB", &n) == 0);
	test_assert(pec_userdb_size("-1", &n) == 0);
	test_assert(pec_userdb_size("99999999999999999999", &n) == 0);
	test_assert(pec_userdb_size("99999999999T", &n) == 0);
	test_end();
}

static void test_parse_bool(void)
{
	bool b = TRUE;

	test_begin("parse_bool");
	test_assert(pec_glue_parse_bool(NULL, FALSE, &b) == 1 && !b);
	test_assert(pec_glue_parse_bool("", TRUE, &b) == 1 && b);
	test_assert(pec_glue_parse_bool("no", TRUE, &b) == 1 && !b);
	test_assert(pec_glue_parse_bool("Yes", FALSE, &b) == 1 && b);
	test_assert(pec_glue_parse_bool("off", TRUE, &b) == 1 && !b);
	test_assert(pec_glue_parse_bool("true", FALSE, &b) == 1 && b);
	test_assert(pec_glue_parse_bool("yess", FALSE, &b) == 0);
	test_end();
}

static void test_mailbox_choice(void)
{
	test_begin("mailbox choice");
	test_assert_strcmp(pec_glue_mailbox(PEC_DELIVERY_STORE_CERTIFIED, "INBOX", "Anomalie"), "INBOX");
	test_assert_strcmp(pec_glue_mailbox(PEC_DELIVERY_STORE_PLAIN, "INBOX", "Anomalie"), "INBOX");
	test_assert_strcmp(pec_glue_mailbox(PEC_DELIVERY_STORE_WRAPPED, "INBOX", "Anomalie"), "Anomalie");
	test_assert_strcmp(pec_glue_mailbox(PEC_DELIVERY_STORE_WRAPPED, "INBOX", NULL), "INBOX");
	test_assert_strcmp(pec_glue_mailbox(PEC_DELIVERY_STORE_WRAPPED, "Detail", ""), "Detail");
	test_assert(pec_glue_mailbox(PEC_DELIVERY_REFUSE, "INBOX", "Anomalie") == NULL);
	test_end();
}

/* expected key computed here with Dovecot's SHA-1, not the core's */
static const char *expected_key(const char *prefix, const char *material)
{
	unsigned char digest[SHA1_RESULTLEN];

	sha1_get_digest(material, strlen(material), digest);
	return t_strconcat(prefix, ":", binary_to_hex(digest, sizeof(digest)), NULL);
}

static void test_dup_key(void)
{
	const char *id = "pec1.20261123100000.123.abcdef01.1@pec-esempio.test";
	char k1[PEC_MARK_KEY_MAX], k2[PEC_MARK_KEY_MAX], k3[PEC_MARK_KEY_MAX];

	test_begin("idempotence key");
	test_assert(pec_delivery_mark_key(PEC_MARK_STORED, id, "bob@pec-esempio.test", k1) > 0);
	test_assert_strcmp(k1, expected_key("pec-stored", t_strconcat(id, "\nbob@pec-esempio.test", NULL)));
	/* the same busta: brackets, blanks and the recipient's case do not matter */
	test_assert(pec_delivery_mark_key(PEC_MARK_STORED, t_strconcat(" <", id, ">", NULL),
				     "Bob@PEC-Esempio.test", k2) > 0);
	test_assert_strcmp(k1, k2);
	/* another recipient, another stage, another busta: other keys */
	test_assert(pec_delivery_mark_key(PEC_MARK_STORED, id, "carol@pec-remoto.test", k3) > 0);
	test_assert(strcmp(k1, k3) != 0);
	test_assert(pec_delivery_mark_key(PEC_MARK_RECEIPT, id, "bob@pec-esempio.test", k3) > 0);
	test_assert(strcmp(k1, k3) != 0);
	test_assert(strncmp(k3, "pec-receipt:", 12) == 0);
	test_assert(pec_delivery_mark_key(PEC_MARK_UNTRACED, id, "bob@pec-esempio.test", k3) > 0);
	test_assert(strcmp(k1, k3) != 0);
	test_assert(strncmp(k3, "pec-untraced:", 13) == 0);
	test_assert(pec_delivery_mark_key(PEC_MARK_PLAIN, id, "bob@pec-esempio.test", k3) > 0);
	test_assert(strncmp(k3, "pec-plain:", 10) == 0);
	test_assert(pec_delivery_mark_key(PEC_MARK_STORED, "pec1.other@pec-esempio.test", "bob@pec-esempio.test", k3) > 0);
	test_assert(strcmp(k1, k3) != 0);
	/* no identificativo, no key */
	test_assert(pec_delivery_mark_key(PEC_MARK_STORED, "<>", "bob@pec-esempio.test", k3) == 0);
	test_assert(pec_delivery_mark_key(PEC_MARK_STORED, NULL, "bob@pec-esempio.test", k3) == 0);
	test_assert(pec_delivery_mark_key(PEC_MARK_STORED, id, "", k3) == 0);
	test_end();
}

static void test_save_failure(void)
{
	enum pec_delivery_failure f = PEC_DELIVERY_FAIL_OTHER;

	test_begin("save failure: only a full mailbox is definitive");
	test_assert(pec_glue_save_failure(MAIL_ERROR_NOQUOTA, FALSE, &f) == 1 && f == PEC_DELIVERY_FAIL_QUOTA);
	f = PEC_DELIVERY_FAIL_OTHER;
	test_assert(pec_glue_save_failure(MAIL_ERROR_TEMP, TRUE, &f) == 1 && f == PEC_DELIVERY_FAIL_QUOTA);
	test_assert(pec_glue_save_failure(MAIL_ERROR_TEMP, FALSE, &f) == 0);
	test_assert(pec_glue_save_failure(MAIL_ERROR_PERM, FALSE, &f) == 0);
	test_assert(pec_glue_save_failure(MAIL_ERROR_NOTFOUND, FALSE, &f) == 0);
	test_end();
}

static void test_ascii(void)
{
	char out[64];

	test_begin("reply text is one ASCII line");
	pec_glue_ascii("non \xc3\xa8 un messaggio\r\ncertificato", out, sizeof(out));
	test_assert_strcmp(out, "non e' un messaggio  certificato");
	pec_glue_ascii("citt\xc3\xa0 \xe2\x80\x93 ok\x01", out, sizeof(out));
	test_assert_strcmp(out, "citta' ? ok?");
	pec_glue_ascii("abcdef", out, 4);
	test_assert_strcmp(out, "abc");
	test_end();
}

static void test_identificativo(void)
{
	struct pec_delivery_verdict v;
	char id[] = "pec1.x@pec-esempio.test", mid[] = "client-1@mua.example";

	test_begin("identificativo for logs and keys");
	memset(&v, 0, sizeof(v));
	test_assert_strcmp(pec_delivery_identificativo(&v), "");
	v.analysis.message_id = mid;
	test_assert_strcmp(pec_delivery_identificativo(&v), mid);
	v.analysis.has_daticert = 1;
	v.analysis.daticert.identificativo = id;
	test_assert_strcmp(pec_delivery_identificativo(&v), id);
	test_end();
}

int main(void)
{
	static void (*const tests[])(void) = {
		test_settings_defaults, test_settings_values, test_settings_errors, test_parse_bool, test_parse_size,
		test_mailbox_choice, test_dup_key, test_save_failure, test_ascii, test_identificativo, NULL
	};

	return test_run(tests);
}

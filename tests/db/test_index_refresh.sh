#!/usr/bin/env bash
# test_index_refresh.sh - `pecctl index refresh` from a local `python3 -m http.server` (port chosen by the
# kernel at run time): a signed index replaces the copy (and the configured index_file) only when it
# verifies, differs and was signed after the current copy; the same index again is "unchanged"; an older
# one, a tampered one, one signed by another CA, an unsigned one, a missing one and an unreachable server
# all keep the current copy and exit 1.  `pecctl index entry` prints our own entry, signed: openssl cms
# verifies it against the CA and `pecctl index import` takes it.  Signed files are made with openssl cms.
# Runs under tests/db/pg_harness.sh.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
command -v openssl >/dev/null || skip "openssl not installed"
command -v python3 >/dev/null || skip "python3 not installed"
DB=(--db "$PEC_TEST_DB")
psql_q() { $PEC_TEST_PSQL -At -c "$1" 2>&1; }
current() { "$PECCTL" index show "${DB[@]}" 2>&1 | head -1; }

"$PECCTL" db migrate "${DB[@]}" >/dev/null || bail "migrate"
"$PECCTL" example --out "$T_TMP/ex" >/dev/null || bail "example"
"$PECCTL" example --out "$T_TMP/other" >/dev/null || bail "second example (another CA)"
EX=$T_TMP/ex www=$T_TMP/www
mkdir -p "$www"
http_serve "$www" || bail "http.server did not start"
at_exit kill "$HTTP_PID"
URL=http://127.0.0.1:$HTTP_PORT/index.ldif.p7m

# sign IN OUT [DIR]: OUT, a CMS SignedData embedding IN, by the example provider of DIR (signingTime: now)
sign() { openssl cms -sign -nodetach -binary -outform DER -in "$1" -signer "${3:-$EX}/provider.pem" \
             -inkey "${3:-$EX}/provider.key" -out "$2"; }
two() { cat "$EX/index.ldif"; printf '\ndn: providerName=Gestore %s,o=postacert\nobjectClass: provider\n' "$1"
        printf 'providerName: Gestore %s\nproviderCertificateHash: 00112233445566778899AABBCCDDEEFF00112233\n' "$1"
        printf 'mailReceipt: posta-certificata@pec-%s.test\nmanagedDomains: pec-%s.test\n' "$1" "$1"; }
two vecchio > "$T_TMP/old.ldif"; two nuovo > "$T_TMP/new.ldif"
sign "$T_TMP/old.ldif" "$T_TMP/old.p7m" && sleep 1.1 && sign "$T_TMP/new.ldif" "$T_TMP/new.p7m" || bail "openssl cms -sign"
cat > "$T_TMP/provider.conf" <<CONF
provider_name = "Gestore Esempio S.p.A."
mail_domain = pec-esempio.test
managed_domains = pec-esempio.test
cert_file = $EX/provider.pem
key_file = $EX/provider.key
trust_file = $EX/ca.pem
index_file = $T_TMP/mirror/index.ldif.p7m
index_url = $URL
database = $PEC_TEST_DB
CONF
chmod 600 "$EX/provider.key"
mkdir -p "$T_TMP/mirror"
refresh() { "$PECCTL" index refresh --config "$T_TMP/provider.conf" "$@" 2>&1; }

# the first fetch: the newer index, from the configured index_url
cp "$T_TMP/new.p7m" "$www/index.ldif.p7m"
out=$(refresh) && ok || fail "first refresh: $out"
grep -q "^index version 1 from $URL (signed 20" <<<"$out" && ok || fail "first refresh report: $out"
[ "$(current)" = "version 1, 2 providers" ] && ok || fail "after the first refresh: $(current)"
"$PECCTL" index show "${DB[@]}" | grep -q "^Gestore nuovo	" && ok || fail "the new provider is not in the copy"
cmp -s "$T_TMP/mirror/index.ldif.p7m" "$T_TMP/new.p7m" && ok || fail "index_file not replaced with the signed index"
[ "$(psql_q "SELECT signed_at IS NOT NULL FROM index_versions WHERE version = 1")" = t ] && ok || fail "signed_at not kept"
# the same again: nothing to do, success
out=$(refresh) && grep -q "^index unchanged: .* is version 1" <<<"$out" && ok || fail "same index: $out"
# an older index (a replay or a stale mirror): kept, and a failure the daily timer reports
cp "$T_TMP/old.p7m" "$www/index.ldif.p7m"
out=$(refresh); rc=$?
[ $rc = 1 ] && grep -q "not after the current copy (version 1" <<<"$out" && ok || fail "older index: rc $rc: $out"
# tampered, another CA, unsigned, missing, unreachable: kept
python3 - "$T_TMP/new.p7m" "$www/index.ldif.p7m" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read()); i = d.find(b'pec-nuovo.test'); d[i] ^= 1
open(sys.argv[2], 'wb').write(d)
PY
out=$(refresh); [ $? = 1 ] && grep -q "index signature is invalid" <<<"$out" && ok || fail "tampered: $out"
two altro > "$T_TMP/alien.ldif"; sign "$T_TMP/alien.ldif" "$www/index.ldif.p7m" "$T_TMP/other"
out=$(refresh); [ $? = 1 ] && grep -q "not trusted" <<<"$out" && ok || fail "another CA: $out"
cp "$T_TMP/new.ldif" "$www/index.ldif.p7m"
out=$(refresh); [ $? = 1 ] && ok || fail "unsigned index taken: $out"
rm -f "$www/index.ldif.p7m"
out=$(refresh); [ $? = 1 ] && grep -q "404" <<<"$out" && ok || fail "missing index: $out"
out=$(refresh --url "http://127.0.0.1:1/index.ldif.p7m"); [ $? = 1 ] && ok || fail "unreachable server: $out"
out=$(refresh --url "https://example.org/index.ldif.p7m"); [ $? = 1 ] && grep -q "only http:// URLs and local files" <<<"$out" \
  && ok || fail "https: $out"
[ "$(current)" = "version 1, 2 providers" ] && ok || fail "copy changed by a refused refresh: $(current)"
cmp -s "$T_TMP/mirror/index.ldif.p7m" "$T_TMP/new.p7m" && ok || fail "index_file changed by a refused refresh"
[ "$(psql_q "SELECT count(*) FROM index_versions")" = 1 ] && ok || fail "refused refreshes left versions"
# a local file (a mirror of the published index) and no anchors
sleep 1.1; two terzo > "$T_TMP/third.ldif"; sign "$T_TMP/third.ldif" "$T_TMP/third.p7m"
out=$("$PECCTL" index refresh "${DB[@]}" --url "file://$T_TMP/third.p7m" 2>&1); [ $? = 1 ] && grep -q "no --ca or trust_file" <<<"$out" \
  && ok || fail "refresh without anchors: $out"
out=$(refresh --url "file://$T_TMP/third.p7m") && grep -q "^index version 2 " <<<"$out" && ok || fail "file:// refresh: $out"

# our own entry, signed, for the index maintainer
"$PECCTL" index entry --config "$T_TMP/provider.conf" --out "$T_TMP/entry.ldif.p7m" && ok || fail "index entry"
openssl cms -verify -inform DER -in "$T_TMP/entry.ldif.p7m" -CAfile "$EX/ca.pem" -out "$T_TMP/entry.ldif" 2>/dev/null && ok ||
  fail "openssl cms does not verify our entry"
grep -q "^providerName: Gestore Esempio S.p.A." "$T_TMP/entry.ldif" && grep -q "^mailReceipt: posta-certificata@pec-esempio.test" "$T_TMP/entry.ldif" &&
  grep -q "^managedDomains: pec-esempio.test" "$T_TMP/entry.ldif" && ok || fail "entry content: $(cat "$T_TMP/entry.ldif")"
hash=$(openssl x509 -in "$EX/provider.pem" -outform DER | sha1sum | cut -c1-40)
grep -qi "^providerCertificateHash: $hash" "$T_TMP/entry.ldif" && ok || fail "entry certificate hash (want $hash)"
"$PECCTL" index entry --config "$T_TMP/provider.conf" --ldif | cmp -s - "$T_TMP/entry.ldif" && ok || fail "--ldif is not the signed content"
out=$("$PECCTL" index import "${DB[@]}" --ca "$EX/ca.pem" "$T_TMP/entry.ldif.p7m" 2>&1) && ok || fail "our entry does not import: $out"
done_tests

#!/usr/bin/env bash
# test_index.sh - `pecctl index import`: .ldif and signed .ldif.p7m are imported; a tampered or
# untrusted signature and a malformed entry are refused with a clear message and exit 1, leaving the
# previous copy in place.  Signed files are made with openssl cms, not with our own code.
# Runs under tests/db/pg_harness.sh.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
[ -n "${PEC_TEST_DB:-}" ] || skip "run under tests/db/pg_harness.sh"
command -v openssl >/dev/null || skip "openssl not installed"
DB=(--db "$PEC_TEST_DB")
psql_q() { $PEC_TEST_PSQL -At -c "$1" 2>&1; }
current() { "$PECCTL" index show "${DB[@]}" 2>&1 | head -1; }

"$PECCTL" db migrate "${DB[@]}" >/dev/null || fail "migrate"
"$PECCTL" example --out "$T_TMP/ex" >/dev/null || fail "example"
"$PECCTL" example --out "$T_TMP/other" >/dev/null || fail "second example (another CA)"
EX=$T_TMP/ex

# sign FILE: FILE.p7m, a CMS SignedData embedding FILE, by the example provider
sign() { openssl cms -sign -nodetach -binary -outform DER -in "$1" -signer "$EX/provider.pem" \
             -inkey "$EX/provider.key" -out "$1.p7m"; }

check_not "show before any import" "$PECCTL" index show "${DB[@]}"
out=$("$PECCTL" index import "${DB[@]}" "$EX/index.ldif" 2>&1) && ok || fail "import ldif: $out"
grep -q "as index version 1" <<<"$out" && ok || fail "version 1: $out"
"$PECCTL" index show "${DB[@]}" | grep -q "^Gestore Esempio S.p.A.	posta-certificata@pec-esempio.test	" && ok ||
    fail "show after import"

# a second provider, signed
{ cat "$EX/index.ldif"; printf '\n'
  printf 'dn: providerName=Gestore Due,o=postacert\nobjectClass: provider\nproviderName: Gestore Due\n'
  printf 'providerCertificateHash: 00112233445566778899AABBCCDDEEFF00112233\n'
  printf 'mailReceipt: posta-certificata@pec-due.test\nmanagedDomains: pec-due.test\nmanagedDomains: pec-2.test\n'
} >"$T_TMP/two.ldif"
sign "$T_TMP/two.ldif" || fail "openssl cms -sign"
# fail closed: a signed index is never taken without anchors to verify its signature
out=$("$PECCTL" index import "${DB[@]}" "$T_TMP/two.ldif.p7m" 2>&1) && fail "p7m imported without --ca" ||
  { grep -q "no trust anchors were given" <<<"$out" && ok || fail "p7m without --ca: $out"; }
out=$("$PECCTL" index import "${DB[@]}" --ca "$EX/ca.pem" "$T_TMP/two.ldif.p7m" 2>&1) && ok || fail "import p7m: $out"
[ "$(current)" = "version 2, 2 providers" ] && ok || fail "after p7m: $(current)"
[ "$(psql_q "SELECT array_to_string(domains, ',') FROM index_providers WHERE name = 'Gestore Due'")" = \
  "pec-due.test,pec-2.test" ] && ok || fail "index_providers mirror"
[ "$(psql_q "SELECT count(*) FROM index_providers")" = 2 ] && ok || fail "mirror replaced, not appended"

# tampered: one byte of the embedded LDIF changed
python3 - "$T_TMP/two.ldif.p7m" "$T_TMP/tampered.ldif.p7m" <<'PY'
import sys
data = bytearray(open(sys.argv[1], 'rb').read())
i = data.find(b'pec-due.test')
data[i] ^= 0x01
open(sys.argv[2], 'wb').write(data)
PY
out=$("$PECCTL" index import "${DB[@]}" --ca "$EX/ca.pem" "$T_TMP/tampered.ldif.p7m" 2>&1)
[ $? -eq 1 ] && ok || fail "tampered p7m accepted: $out"
grep -q "tampered.ldif.p7m: index signature is invalid" <<<"$out" && ok || fail "tampered message: $out"
[ "$(current)" = "version 2, 2 providers" ] && ok || fail "copy changed by a refused import: $(current)"

# a valid signature from an authority we do not trust
out=$("$PECCTL" index import "${DB[@]}" --ca "$T_TMP/other/ca.pem" "$T_TMP/two.ldif.p7m" 2>&1)
[ $? -eq 1 ] && grep -q "not trusted" <<<"$out" && ok || fail "untrusted p7m: $out"

# malformed entries, plain and signed
sed '/^mailReceipt: posta-certificata@pec-due.test/d' "$T_TMP/two.ldif" >"$T_TMP/bad.ldif"
out=$("$PECCTL" index import "${DB[@]}" "$T_TMP/bad.ldif" 2>&1)
[ $? -eq 1 ] && ok || fail "malformed ldif accepted: $out"
grep -q 'index entry "providerName=Gestore Due,o=postacert": missing mailReceipt' <<<"$out" && ok ||
    fail "malformed message: $out"
sign "$T_TMP/bad.ldif"
out=$("$PECCTL" index import "${DB[@]}" --ca "$EX/ca.pem" "$T_TMP/bad.ldif.p7m" 2>&1)
[ $? -eq 1 ] && grep -q "missing mailReceipt" <<<"$out" && ok || fail "signed malformed ldif: $out"
printf 'dn: providerName=X,o=postacert\nproviderName: X\nproviderCertificateHash: nothex\n' >"$T_TMP/hash.ldif"
out=$("$PECCTL" index import "${DB[@]}" "$T_TMP/hash.ldif" 2>&1)
[ $? -eq 1 ] && grep -q "not 40 hex digits" <<<"$out" && ok || fail "bad hash: $out"
check_not "missing file" "$PECCTL" index import "${DB[@]}" "$T_TMP/nonexistent.ldif"
cp "$T_TMP/two.ldif" "$T_TMP/plain.ldif.p7m"
check_not "plain text named .p7m" "$PECCTL" index import "${DB[@]}" "$T_TMP/plain.ldif.p7m"
[ "$(current)" = "version 2, 2 providers" ] && ok || fail "copy after the refused imports: $(current)"
[ "$(psql_q "SELECT count(*) FROM index_versions")" = 2 ] && ok || fail "refused imports left versions"
done_tests

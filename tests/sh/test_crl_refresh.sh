#!/usr/bin/env bash
# pecctl crl refresh against a local `python3 -m http.server` (port chosen by the kernel at run time):
# the configured crl_file is written from the distribution point named in the certificates, replaced
# by a newer CRL, and kept when what is served next is tampered with, forged by another CA of the same
# name, older, missing or unreachable.  Then pecctl verify with the refreshed CRL calls a busta of the
# revoked provider not valid, with the revocation as the reason.
. "$(dirname "$0")/lib.sh" || exit 1
[ -n "${T_TMP:-}" ] && [ -d "$T_TMP" ] || { echo "no scratch directory" >&2; exit 1; }
PEC_BUILD_DIR=${PEC_BUILD_DIR:-$PEC_SRC_DIR/build}
TESTPKI=$PEC_BUILD_DIR/tests/pec-testpki
MAKE_BUSTA=$PEC_BUILD_DIR/tests/make-busta
command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
[ -x "$TESTPKI" ] && [ -x "$MAKE_BUSTA" ] || skip "pec-testpki or make-busta not built"

SERVER_PID=
# stop_server: end the HTTP server we started, if it runs
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=
  fi
}
trap 'stop_server; rm -rf "$T_TMP"' EXIT
trap 'exit 130' INT TERM

www=$T_TMP/www pki=$T_TMP/pki state=$T_TMP/state
mkdir -p "$www" "$pki" "$state" "$T_TMP/twin"
http_serve "$www"; SERVER_PID=$HTTP_PID
[ -n "$HTTP_PORT" ] || { fail "http.server did not start"; done_tests; exit; }
url=http://127.0.0.1:$HTTP_PORT/crl/ca.crl

"$TESTPKI" --crl-url "$url" "$pki" pec-a.test "Gestore A S.p.A." pec-b.test "Gestore B S.p.A." \
  || { fail "pec-testpki failed"; done_tests; exit; }
check "pec-testpki --crl-url writes an empty ca.crl" test -s "$pki/ca.crl"
openssl x509 -in "$pki/pec-b.test.pem" -noout -ext crlDistributionPoints 2>/dev/null | grep -q "URI:$url" \
  && ok || fail "no distribution point $url in the certificate"
mkdir -p "$www/crl"

# conf FILE NAME DOMAIN [EXTRA]: a provider configuration of the test PKI
conf() {
  cat >"$1" <<EOF
provider_name = "$2"
mail_domain = $3
managed_domains = $3
cert_file = $pki/$3.pem
key_file = $pki/$3.key
trust_file = $pki/ca.pem
index_file = $pki/index.ldif
${4:-}
EOF
}
conf "$T_TMP/a.conf" "Gestore A S.p.A." pec-a.test "crl_file = $state/ca.crl"
conf "$T_TMP/b.conf" "Gestore B S.p.A." pec-b.test

# refresh: run pecctl crl refresh on a.conf, output in $T_TMP/out, exit status in $rc
refresh() { "$PECCTL" crl refresh -c "$T_TMP/a.conf" --timeout 5 "$@" >"$T_TMP/out" 2>&1; rc=$?; }

# 1. the first time: no file yet, one anchor, one crl_file; the URL comes from cert_file / the index
cp "$pki/ca.crl" "$www/crl/ca.crl"
refresh
[ $rc -eq 0 ] && cmp -s "$state/ca.crl" "$pki/ca.crl" && ok || fail "first refresh (rc=$rc): $(cat "$T_TMP/out")"
grep -q "CRL of CN=PEC Test CA from $url" "$T_TMP/out" && ok || fail "refresh does not say what it did: $(cat "$T_TMP/out")"
[ "$(stat -c %a "$state/ca.crl")" = 644 ] && ok || fail "crl_file mode $(stat -c %a "$state/ca.crl")"
refresh
[ $rc -eq 0 ] && grep -q unchanged "$T_TMP/out" && ok || fail "same CRL again (rc=$rc): $(cat "$T_TMP/out")"

# 2. pec-b.test revoked: the newer CRL replaces the file
sleep 1 # a later thisUpdate than the first CRL's
"$TESTPKI" revoke "$pki" pec-b.test || fail "pec-testpki revoke"
cp "$pki/ca.crl" "$www/crl/ca.crl"
refresh
[ $rc -eq 0 ] && cmp -s "$state/ca.crl" "$pki/ca.crl" && ok || fail "refresh after revoke (rc=$rc): $(cat "$T_TMP/out")"
grep -q "1 revoked" "$T_TMP/out" && ok || fail "the revocation is not counted: $(cat "$T_TMP/out")"
cp "$state/ca.crl" "$T_TMP/good.crl"
ls "$state" | grep -qv '^ca.crl$' && fail "temporary files left in $state: $(ls "$state")" || ok

# keep_old WHAT: the last refresh failed and left the good file in place
keep_old() {
  if [ $rc -eq 1 ] && cmp -s "$state/ca.crl" "$T_TMP/good.crl"; then ok; else fail "$1 (rc=$rc): $(cat "$T_TMP/out")"; fi
  [ "$(ls "$state")" = ca.crl ] && ok || fail "$1: temporary files left in $state: $(ls "$state")"
}

# 3. tampered: one byte of the signature changed (DER, as CAs publish it)
python3 - "$pki/ca.crl" "$www/crl/ca.crl" <<'EOF'
import base64, sys
pem = open(sys.argv[1]).read()
der = bytearray(base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----"))))
der[-10] ^= 0x01
open(sys.argv[2], "wb").write(der)
EOF
refresh
keep_old "tampered CRL accepted"
grep -q "does not verify" "$T_TMP/out" && ok || fail "tampered CRL: no clear reason: $(cat "$T_TMP/out")"

# 4. forged: a CRL of another CA with the same name
"$TESTPKI" "$T_TMP/twin" pec-x.test "X" >/dev/null && "$TESTPKI" crl "$T_TMP/twin" --this-update +1d --next-update +30d \
  || fail "twin PKI"
cp "$T_TMP/twin/ca.crl" "$www/crl/ca.crl"
refresh
keep_old "forged CRL accepted"
grep -q "does not verify" "$T_TMP/out" && ok || fail "forged CRL: no clear reason: $(cat "$T_TMP/out")"

# 5. older than the file: the empty CRL of step 1 again
cp "$pki/ca.crl" "$T_TMP/newest.crl"
"$TESTPKI" crl "$pki" --this-update -1d --next-update +6d || fail "pec-testpki crl"
cp "$pki/ca.crl" "$www/crl/ca.crl"
refresh
keep_old "older CRL accepted"
grep -q "older than" "$T_TMP/out" && ok || fail "older CRL: no clear reason: $(cat "$T_TMP/out")"

# 6. not a CRL, missing, server gone
echo "<html>maintenance</html>" >"$www/crl/ca.crl"
refresh
keep_old "an HTML page accepted"
rm -f "$www/crl/ca.crl"
refresh
keep_old "404 accepted"
grep -q "HTTP 404" "$T_TMP/out" && ok || fail "404: no clear reason: $(cat "$T_TMP/out")"

# 7. --url --out: explicit, into a new file (not a crl_file: noted)
cp "$T_TMP/newest.crl" "$www/crl/ca.crl"
"$PECCTL" crl refresh --config "$T_TMP/a.conf" --url "$url" --out "$T_TMP/explicit.crl" >"$T_TMP/out" 2>&1
[ $? -eq 0 ] && cmp -s "$T_TMP/explicit.crl" "$T_TMP/newest.crl" && ok || fail "--url --out: $(cat "$T_TMP/out")"
grep -q "not a crl_file" "$T_TMP/out" && ok || fail "--out outside the configuration not noted"

stop_server
refresh
keep_old "refresh without a server"
grep -q "cannot connect" "$T_TMP/out" && ok || fail "no server: no clear reason: $(cat "$T_TMP/out")"

# 8. the refreshed CRL at work: a busta of the revoked provider is not valid PEC, the other one is
printf 'From: alice@pec-b.test\r\nTo: bob@pec-a.test\r\nSubject: prova\r\nMessage-ID: <crl@mua.test>\r\n\r\nciao\r\n' \
  >"$T_TMP/orig.eml"
sed 's/pec-b.test/pec-a.test/g' "$T_TMP/orig.eml" >"$T_TMP/orig-a.eml"
conf "$T_TMP/a-nocrl.conf" "Gestore A S.p.A." pec-a.test
"$MAKE_BUSTA" "$T_TMP/b.conf" "$T_TMP/orig.eml" >"$T_TMP/busta-b.eml" || fail "make-busta (b)"
"$MAKE_BUSTA" "$T_TMP/a-nocrl.conf" "$T_TMP/orig-a.eml" >"$T_TMP/busta-a.eml" || fail "make-busta (a)"
out=$("$PECCTL" verify --ca "$pki/ca.pem" --crl "$state/ca.crl" --index "$pki/index.ldif" "$T_TMP/busta-b.eml")
rc=$?
[ $rc -eq 1 ] && grep -q '"trusted":false' <<<"$out" && grep -q 'signer certificate revoked (serial' <<<"$out" \
  && ok || fail "revoked provider's busta (rc=$rc): $out"
out=$("$PECCTL" verify --ca "$pki/ca.pem" --crl "$state/ca.crl" --index "$pki/index.ldif" "$T_TMP/busta-a.eml")
[ $? -eq 0 ] && grep -q '"valid":true' <<<"$out" && ok || fail "good provider's busta: $out"
out=$("$PECCTL" verify --ca "$pki/ca.pem" --index "$pki/index.ldif" "$T_TMP/busta-b.eml")
[ $? -eq 0 ] && ok || fail "without the CRL the busta should still pass: $out"
"$PECCTL" verify --ca "$T_TMP/twin/ca.pem" --crl "$state/ca.crl" "$T_TMP/busta-a.eml" >/dev/null 2>&1
[ $? -eq 2 ] && ok || fail "a CRL that does not verify against --ca must be a usage error"

# 9. usage and configuration errors
"$PECCTL" crl >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "pecctl crl must exit 2"
"$PECCTL" crl refresh >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "crl refresh without -c must exit 2"
"$PECCTL" crl refresh -c "$T_TMP/a.conf" --url "$url" >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "--url without --out must exit 2"
"$PECCTL" crl refresh -c "$T_TMP/b.conf" >"$T_TMP/out" 2>&1
[ $? -eq 1 ] && grep -q "no crl_file" "$T_TMP/out" && ok || fail "no crl_file: $(cat "$T_TMP/out")"
"$PECCTL" --help | grep -q "crl refresh" && ok || fail "pecctl --help does not list crl refresh"
done_tests

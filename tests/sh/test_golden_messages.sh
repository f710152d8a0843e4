#!/usr/bin/env bash
# Golden messages: with a fixed clock, fixed identifiers and a fixed test key, `pecctl example` must
# write exactly the bytes of tests/golden/messages/<name>.eml.ref (signatures included: RSA PKCS#1 v1.5
# is deterministic).  PEC_UPDATE_GOLDEN=1 rewrites the references after an intended change.
. "$(dirname "$0")/lib.sh"
PKI=$PEC_SRC_DIR/tests/data/golden-pki
REF=$PEC_SRC_DIR/tests/golden/messages
FIXED_TIME=1795417200   # 23/11/2026 08:00:00 +0100 (Rome)
"$PECCTL" example --out "$T_TMP/ex" --time $FIXED_TIME --fixed-ids --signer "$PKI/provider.pem" "$PKI/provider.key" \
  >/dev/null || { fail "pecctl example"; done_tests; exit; }
if [ "${PEC_UPDATE_GOLDEN:-0}" = 1 ]; then
  mkdir -p "$REF"
  for f in "$T_TMP"/ex/*.eml; do cp "$f" "$REF/$(basename "$f").ref"; done
  cp "$T_TMP/ex/index.ldif" "$REF/index.ldif.ref"
fi
n=0
for ref in "$REF"/*.ref; do
  n=$((n + 1))
  out=$T_TMP/ex/$(basename "$ref" .ref)
  if cmp -s "$ref" "$out"; then ok; else fail "$(basename "$out") differs from its golden file"; diff -u "$ref" "$out" | head -20 >&2; fi
done
[ $n -ge 15 ] && ok || fail "only $n golden files"
# The golden messages still verify (the test key's certificate is valid until 2029).
for f in "$REF"/*.eml.ref; do
  check "$(basename "$f") verifies" openssl smime -verify -in "$f" -CAfile "$PKI/ca.pem" -out /dev/null
done
# ... and pass every check of the analysis (pecctl verify: trusted, in the index, headers agreeing with
# their daticert), as any provider's reception point would run them.
for f in "$REF"/*.eml.ref; do
  out=$("$PECCTL" verify --ca "$PKI/ca.pem" --index "$REF/index.ldif.ref" "$f")
  [ $? -eq 0 ] && grep -q '"valid":true' <<<"$out" && ok || fail "$(basename "$f"): pecctl verify: $out"
done
done_tests

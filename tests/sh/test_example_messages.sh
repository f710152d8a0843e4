#!/usr/bin/env bash
# Every message `pecctl example` writes verifies with openssl against the test CA, its daticert.xml is
# valid against the DTD (xmllint), pecctl verify calls it valid, and invalid after one changed byte.
. "$(dirname "$0")/lib.sh"
DTD=$PEC_SHARED_DIR/spec/daticert.dtd
ex=$T_TMP/ex
"$PECCTL" example --out "$ex" >/dev/null || { fail "pecctl example failed"; done_tests; exit; }
msgs=("$ex"/*.eml)
[ ${#msgs[@]} -ge 14 ] && ok || fail "only ${#msgs[@]} messages written"
for t in busta-trasporto busta-anomalia accettazione non-accettazione non-accettazione-virus presa-in-carico \
         avvenuta-consegna-completa avvenuta-consegna-breve avvenuta-consegna-sintetica errore-consegna \
         errore-consegna-virus preavviso-errore-consegna-12h preavviso-errore-consegna-24h rilevazione-virus; do
  check "$t.eml written" test -s "$ex/$t.eml"
done
check "ca.pem written" test -s "$ex/ca.pem"
check "index.ldif written" test -s "$ex/index.ldif"

for f in "${msgs[@]}"; do
  name=$(basename "$f" .eml)
  check "$name: openssl smime -verify" openssl smime -verify -in "$f" -CAfile "$ex/ca.pem" -out /dev/null
  check "$name: openssl cms -verify" openssl cms -verify -in "$f" -CAfile "$ex/ca.pem" -out /dev/null
  check "$name: 7-bit clean" python3 -c "import sys; d=open(sys.argv[1],'rb').read(); sys.exit(any(b>127 for b in d))" "$f"
  if [ "$name" = busta-anomalia ]; then
    check_not "$name: no daticert.xml in an anomaly" python3 "$PEC_SRC_DIR/tests/sh/mimepart.py" "$f" daticert.xml
  elif python3 "$PEC_SRC_DIR/tests/sh/mimepart.py" "$f" daticert.xml > "$T_TMP/$name.xml"; then
    ok
    if [ -f "$DTD" ]; then
      check "$name: xmllint --dtdvalid" xmllint --noout --dtdvalid "$DTD" "$T_TMP/$name.xml"
    fi
  else
    fail "$name: no daticert.xml part"
  fi
  out=$("$PECCTL" verify --ca "$ex/ca.pem" --index "$ex/index.ldif" "$f")
  if [ $? -eq 0 ] && grep -q '"valid":true' <<<"$out"; then ok; else fail "$name: pecctl verify: $out"; fi

  python3 "$PEC_SRC_DIR/tests/sh/flipbyte.py" "$f" "$T_TMP/flipped.eml"
  out=$("$PECCTL" verify --ca "$ex/ca.pem" --index "$ex/index.ldif" "$T_TMP/flipped.eml")
  rc=$?
  if [ $rc -eq 1 ] && grep -q '"status":"invalid"' <<<"$out"; then ok; else fail "$name: one changed byte not detected (rc=$rc): $out"; fi
  check_not "$name: openssl rejects the changed byte too" openssl smime -verify -in "$T_TMP/flipped.eml" -CAfile "$ex/ca.pem" -out /dev/null
done

# Untrusted CA: a second, unrelated test CA must not validate the first one's messages.
"$PECCTL" example --out "$T_TMP/other" >/dev/null
# --strict judges trust as a reception point does: it refuses to run without anchors and an index
"$PECCTL" verify --strict --index "$ex/index.ldif" "$ex/accettazione.eml" >/dev/null 2>&1
[ $? -eq 2 ] && ok || fail "verify --strict without --ca ran"
check "verify --strict with anchors and index" "$PECCTL" verify --strict --ca "$ex/ca.pem" --index "$ex/index.ldif" "$ex/accettazione.eml"
out=$("$PECCTL" verify --ca "$T_TMP/other/ca.pem" "$ex/accettazione.eml")
if [ $? -eq 1 ] && grep -q '"trusted":false' <<<"$out"; then ok; else fail "foreign CA accepted: $out"; fi
# Signer not in the index: the other provider's index does not list our signer.
out=$("$PECCTL" verify --index "$T_TMP/other/index.ldif" "$ex/accettazione.eml")
if [ $? -eq 1 ] && grep -q 'not in the provider index' <<<"$out"; then ok; else fail "unknown signer accepted: $out"; fi
# Usage errors exit 2.
"$PECCTL" verify >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "verify without files must exit 2"
"$PECCTL" verify --index /nonexistent "$ex/accettazione.eml" >/dev/null 2>&1; [ $? -eq 2 ] && ok || fail "missing index must exit 2"
done_tests

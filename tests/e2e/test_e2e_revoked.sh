#!/usr/bin/env bash
# Revocation end to end: provider C is in the index, but the test CA has revoked its certificate and
# every provider has the CA's CRL.  A busta signed by C is never stored as certified at B (refused, with
# the reason in B's log); a busta of A, whose certificate is good, goes through the same path (control).
. "$(dirname "$0")/e2e-lib.sh"
C=pec-c.test
N_INDEX_ONLY=$C
N_REVOKE=$C
e2e_start
chmod 644 "$T_TMP/pki/ca.crl"
# C's signing setup, enough for make-busta
cat > "$T_TMP/c.conf" <<CONF
provider_name = "Gestore C S.p.A."
mail_domain = $C
managed_domains = $C
cert_file = $T_TMP/pki/$C.pem
key_file = $T_TMP/pki/$C.key
CONF
original() { # original SUBJECT FROM TO: one plain message
  printf 'From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@client.test>\r\n\r\ntesto\r\n' \
    "$2" "$3" "$1" "$(date -R)" "$RANDOM$RANDOM"
}
check "the CRL lists C's certificate" sh -c "openssl crl -in '$T_TMP/pki/ca.crl' -noout -text | grep -qi \
  \"\$(openssl x509 -in '$T_TMP/pki/$C.pem' -noout -serial | cut -d= -f2)\""
check "openssl too calls C's certificate revoked" sh -c "! openssl verify -crl_check -CAfile '$T_TMP/pki/ca.pem' \
  -CRLfile '$T_TMP/pki/ca.crl' '$T_TMP/pki/$C.pem' >/dev/null 2>&1"

original "Revoked C" "carla@$C" "bob@$B" > "$T_TMP/c.eml"
"$PEC_BUILD_DIR/tests/make-busta" "$T_TMP/c.conf" "$T_TMP/c.eml" > "$T_TMP/c-busta.eml" || fail "make-busta C"
out=$(n_mx $B --from carla@$C --to bob@$B --data @"$T_TMP/c-busta.eml")
e2e_expect "busta signed by a revoked certificate" "$out" refuse "^554 "
grep -q "rifiuto: .*revoked" "$T_TMP/milter-reception-b.log" && ok || fail "B's log does not name the revocation"

original "Good A" "alice@$A" "bob@$B" > "$T_TMP/a.eml"
"$PEC_BUILD_DIR/tests/make-busta" "$(n_get $A DIR)/provider.conf" "$T_TMP/a.eml" > "$T_TMP/a-busta.eml" || fail "make-busta A"
out=$(n_mx $B --from alice@$A --to bob@$B --data @"$T_TMP/a-busta.eml")
e2e_expect "busta of a provider in good standing" "$out" accept
e2e_wait "the good busta delivered" bob@$B 1 "^X-Trasporto: posta-certificata" "Good A"
e2e_none "the revoked provider's busta stored" bob@$B "Revoked C"
done_tests

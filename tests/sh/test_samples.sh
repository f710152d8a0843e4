#!/usr/bin/env bash
# pecctl verify classifies the real providers' messages in ../shared/samples as its README says.
# The index is written here from the signer hashes that README lists (the real index is not public), with
# only what a real entry holds: the service address as mailReceipt, the users' domains as managedDomains.
. "$(dirname "$0")/lib.sh"
S=$PEC_SHARED_DIR/samples/real
[ -d "$S" ] || skip "no samples folder at $S"

cat > "$T_TMP/index.ldif" <<'LDIF'
dn: o=postacert
objectClass: organization
o: postacert

dn: providerName=ARUBA PEC S.p.A.,o=postacert
objectClass: provider
providerName: ARUBA PEC S.p.A.
providerCertificateHash: AAA71BFD2DBC9FE67AA23C9F33AAF3316DF1AA66
providerCertificateHash: B9444BA4D52880FBBE4C3C0C55BF81E323ADDF8B
mailReceipt: posta-certificata@pec.aruba.it
managedDomains: pec.it

dn: providerName=Namirial S.p.A.,o=postacert
objectClass: provider
providerName: Namirial S.p.A.
providerCertificateHash: 61a9e2865eeee6c42cb8756b86567337c64cdec3
mailReceipt: posta-certificata@sicurezzapostale.it
managedDomains: namirialpec.it
LDIF

# expect FILE KIND TIPO VALID SIGNATURE-STATUS-REGEX SIGNER
expect() {
  local file=$1 kind=$2 tipo=$3 valid=$4 sig=$5 signer=$6 out
  [ -f "$S/$file" ] || { fail "$file missing"; return; }
  out=$("$PECCTL" verify --index "$T_TMP/index.ldif" "$S/$file")
  local rc=$?
  python3 - "$out" "$kind" "$tipo" "$valid" "$sig" "$signer" "$rc" <<'PY' && ok || fail "$file: $out"
import json, re, sys
out, kind, tipo, valid, sig, signer, rc = sys.argv[1:]
j = json.loads(out)
assert j["kind"] == kind, j["kind"]
assert tipo == "-" or j["tipo"] == tipo, j["tipo"]
assert j["valid"] == (valid == "true")
assert re.fullmatch(sig, j["signature"]["status"]), j["signature"]["status"]
assert signer == "-" or j["signature"]["signer_sha1"] == signer
assert (rc == "0") == (valid == "true"), rc
if valid == "true":
    assert j["signature"]["provider"] and j["errors"] == [] and j["daticert"] is not None
else:
    assert j["errors"], "an invalid message must say why"
PY
}

ARUBA14=aaa71bfd2dbc9fe67aa23c9f33aaf3316df1aa66
ARUBA18=b9444ba4d52880fbbe4c3c0c55bf81e323addf8b
expect aruba-2014/busta-trasporto-1.eml busta-trasporto posta-certificata true valid $ARUBA14
expect aruba-2014/busta-trasporto-2.eml busta-trasporto posta-certificata true valid $ARUBA14
expect aruba-2014/accettazione-2.eml ricevuta accettazione true valid $ARUBA14
expect aruba-2014/avvenuta-consegna-2.eml ricevuta avvenuta-consegna true valid $ARUBA14
expect aruba-2018/accettazione.eml ricevuta accettazione true valid $ARUBA18
expect aruba-2018/avvenuta-consegna.eml ricevuta avvenuta-consegna true valid $ARUBA18
expect namirial-2024/busta-signed-part-only.eml busta-trasporto - false valid 61a9e2865eeee6c42cb8756b86567337c64cdec3
for f in busta-invio-file busta-invio-file-base64 busta-invio-file-broken-xml busta-ricevuta-consegna \
         busta-mancata-consegna-no-daticert; do
  expect sogei-2018-edited/$f.eml busta-trasporto - false 'invalid|absent' -
done

# The consegna completa carries the original; daticert says which receipt type was asked.
out=$("$PECCTL" verify --index "$T_TMP/index.ldif" "$S/aruba-2014/avvenuta-consegna-2.eml")
grep -q '"ricevuta":"completa"' <<<"$out" && ok || fail "consegna completa not recognised: $out"

# Without the index entry the same real envelope is not valid PEC (unknown signer).
grep -v -i AAA71BFD "$T_TMP/index.ldif" > "$T_TMP/index-no-aruba14.ldif"
out=$("$PECCTL" verify --index "$T_TMP/index-no-aruba14.ldif" "$S/aruba-2014/busta-trasporto-1.eml")
[ $? -eq 1 ] && grep -q "not in the provider index" <<<"$out" && ok || fail "unknown signer accepted: $out"
# A busta certifies a user of the signing provider: with pec.it not among Aruba's domains it is not valid.
sed 's/^managedDomains: pec.it$/managedDomains: arubapec.it/' "$T_TMP/index.ldif" > "$T_TMP/index-no-pec-it.ldif"
out=$("$PECCTL" verify --index "$T_TMP/index-no-pec-it.ldif" "$S/aruba-2014/busta-trasporto-1.eml")
[ $? -eq 1 ] && grep -q "thinkstudio@pec.it is not in a domain" <<<"$out" && ok || fail "a busta for another provider's user accepted: $out"

# CRLF input gives the same verdicts as LF input.
sed 's/$/\r/' "$S/aruba-2014/busta-trasporto-1.eml" > "$T_TMP/crlf.eml"
check "CRLF copy of a real busta verifies" "$PECCTL" verify --index "$T_TMP/index.ldif" "$T_TMP/crlf.eml"
done_tests

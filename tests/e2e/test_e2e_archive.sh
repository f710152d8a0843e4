#!/usr/bin/env bash
# The Archivio di sicurezza (issue 16): a box whose userdb fields give it one (pec_archive, and
# pec_archive_quota for its own limit) keeps a copy of each certified message and receipt it receives in
# a folder its owner can read over IMAP but not change: the ACL plugin lets the owner look up, read and
# mark seen only, the folder is outside the box's quota and kept 913 days.  A full archive never holds a
# delivery back: the message is delivered and receipted, the miss is logged and traced
# (archivio-mancato).  pecctl box archive-report lists every archive.
N_USERS="alice bob posta-certificata
  custode:pec_archive=Archivio+pec_archive_quota=1M colmo:pec_archive=Archivio+pec_archive_quota=2k"
. "$(dirname "$0")/e2e-lib.sh"
e2e_start
archived() { find "$(n_maildir "$1")/.Archivio/new" "$(n_maildir "$1")/.Archivio/cur" -type f 2>/dev/null | wc -l; }

# ---- a busta for the box: in its INBOX and, once, in its archive ---------------------------------------
out=$(n_submit $A alice --to custode@$B --header "To: custode@$B" --header "Subject: Arc uno" --body "da archiviare")
e2e_expect "submission to custode" "$out" accept
e2e_wait "consegna for custode" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Arc uno$"
e2e_wait "busta in custode's INBOX" custode@$B 1 "^X-Trasporto: posta-certificata" "Arc uno"
[ "$(archived custode@$B)" = 1 ] && ok || fail "custode's archive holds $(archived custode@$B) copies (want 1)"
f=$(find "$(n_maildir custode@$B)/.Archivio" -type f -path '*/new/*' -o -type f -path '*/cur/*' | head -1)
[ -n "$f" ] && n_verify_msg "$f" >/dev/null && ok || fail "the archived busta does not verify"

# ---- the receipts of what the box sends are archived too --------------------------------------------------
out=$(n_submit $B custode --to bob@$A --header "To: bob@$A" --header "Subject: Arc due" --body "risposta")
e2e_expect "custode's submission" "$out" accept
e2e_wait "accettazione and consegna for custode" custode@$B 2 "^X-Ricevuta: (accettazione|avvenuta-consegna)" "Arc due"
wait_until 20 eval '[ "$(archived custode@$B)" -ge 3 ]' && ok ||
  fail "custode's archive holds $(archived custode@$B) copies (want the busta and two receipts)"
n_has bob@$A 1 "Arc due" && [ "$(find "$(n_maildir bob@$A)" -path '*Archivio*' -type f | wc -l)" = 0 ] && ok ||
  fail "a box without an archive got one"

# ---- over IMAP: the owner reads the archive and cannot change it ---------------------------------------------
r=$(python3 - "$(n_get $B IMAPS)" "$N_CA" custode@$B <<'PY' 2>&1
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login(sys.argv[3], "secret")
typ, data = m.select("Archivio")
n = int(data[0])
typ, _ = m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
read = typ == "OK"
m.store("1", "+FLAGS", "(\\Deleted)")
m.expunge()
typ, data = m.fetch("1", "(FLAGS)")
deleted = b"\\Deleted" in data[0]
typ, _ = m.append("Archivio", None, None, b"Subject: falso\r\n\r\nx\r\n")
appended = typ == "OK"
m.select("Archivio")
typ, data = m.status("Archivio", "(MESSAGES)")
after = data[0].decode()
m.logout()
print(f"messages={n} read={read} deleted={deleted} appended={appended} after={after}")
PY
)
case $r in
  *"read=True deleted=False appended=False"*) ok ;;
  *) fail "IMAP on the archive: $r" ;;
esac
grep -q "MESSAGES $(archived custode@$B))" <<<"$r" && ok || fail "the archive changed over IMAP: $r"

# ---- a full archive: delivered and receipted all the same, the miss traced ----------------------------------
big=$(head -c 3000 /dev/zero | tr '\0' y | fold -w 76)
out=$(n_submit $A alice --to colmo@$B --header "To: colmo@$B" --header "Subject: Arc pieno" --body "$big")
e2e_expect "submission to colmo" "$out" accept
e2e_wait "consegna for colmo" alice@$A 1 "^X-Ricevuta: avvenuta-consegna" "^Subject: CONSEGNA: Arc pieno$"
n_has colmo@$B 1 "Arc pieno" && ok || fail "the busta did not reach colmo's INBOX"
[ "$(archived colmo@$B)" = 0 ] && ok || fail "colmo's 2k archive took a 3k message"
t=$(n_psql $B -Atc "select count(*) from events where type = 'archivio-mancato' and convert_from(errore_esteso, 'UTF8') like '%pieno%'")
[ "$t" = 1 ] && ok || fail "archivio-mancato events: '$t' (want 1)"
grep -q "not archived: archivio di sicurezza pieno" "$(n_get $B DIR)/dovecot/dovecot.log" && ok ||
  fail "the full archive is not logged"

# ---- pecctl box archive-report -------------------------------------------------------------------------------
r=$("$PECCTL" box archive-report --config "$(n_get $B DIR)/provider.conf" \
      --doveconf "$(n_get $B DIR)/dovecot/dovecot.conf" 2>&1); rc=$?
grep -qE "^custode@$B	Archivio	[3-9]	[0-9]+	1048576	ok$" <<<"$r" && ok || fail "archive-report for custode: $r"
grep -qE "^colmo@$B	Archivio	0	0	2048	ok$" <<<"$r" && ok || fail "archive-report for colmo: $r"
grep -q "^# 2 archives" <<<"$r" && [ "$rc" = 0 ] && ok || fail "archive-report summary (rc $rc): $r"
out=$("$PECCTL" box show --config "$(n_get $B DIR)/provider.conf" custode@$B 2>&1)
grep -q "^archive: Archivio (its own limit 1048576 bytes)$" <<<"$out" && ok || fail "box show custode: $out"
e2e_verify_everything
done_tests

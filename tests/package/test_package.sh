#!/usr/bin/env bash
# test_package.sh - the installed system (label package): the Debian packages of `make deb` installed
# into two clean Debian chroots of this release (two machines, one provider each, on 127.0.0.2 and
# 127.0.0.3), each set up as the README's "Install on Debian" says: the packages, a provider.conf with
# the provider's certificate, key, trust anchor, index and database, and nothing for Postfix and Dovecot
# but the lines `pecctl setup postfix|dovecot` print (plus this test's ports, addresses and users).  The
# services are started the way their units would (no systemd in a chroot: each unit's ExecStartPre and
# ExecStart lines); one certified message goes from alice@pec-a.test to bob@pec-b.test using installed
# binaries only (the mailboxes are Dovecot's users, asked through the printed pec-userdb socket; an
# address no userdb has gets the no-dest avviso), and alice reads her receipts over IMAPS and POP3S.
# Then `dpkg --purge` leaves no file of the packages behind, only the data the administrator keeps.
#
# The base chroot (scripts/package-base.sh: debootstrap --variant=minbase, the packages a Postfix +
# Dovecot + PostgreSQL host has) is cached as a tarball under $PEC_BUILD_DIR/package/, so a repeated run
# starts in seconds.
. "$PEC_SRC_DIR/tests/sh/lib.sh"
. "$PEC_SRC_DIR/scripts/chroot-lib.sh"
need_root "debootstrap, chroot, mount"
[ -z "${PEC_IN_CHROOT:-}" ] || skip "inside the $PEC_IN_CHROOT chroot: the installed-system test makes chroots of its own and runs on the host"
need_tools debootstrap dpkg-buildpackage openssl
WORK=$PEC_BUILD_DIR/package
mkdir -p "$WORK"
trap 'exit 130' INT TERM # the cleanup (processes, mounts) is lib.sh's EXIT trap
PW=pec-test-$$

# ---- the packages and the two machines -----------------------------------------------------------
DEB_BUILD_OPTIONS=nocheck "$PEC_SRC_DIR/scripts/deb.sh" "$WORK/deb" > "$T_TMP/deb.log" 2>&1 ||
  bail "make deb: $(tail -20 "$T_TMP/deb.log")"
ok
BASE=$("$PEC_SRC_DIR/scripts/package-base.sh" "$WORK") || bail "no base chroot (scripts/package-base.sh)"
P_A=127.0.0.2 P_B=127.0.0.3
read -r SUB_A SMTPS_A SMTP_A IMAPS_A POP3S_A SUB_B SMTPS_B SMTP_B IMAPS_B POP3S_B <<<"$(free_ports 10)"
root_of() { echo "$WORK/root-$1"; }
# on P COMMAND: a shell command inside machine P, as root, with a clean environment
on() { local p=$1; shift; chroot "$(root_of "$p")" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 bash -c "$*"; }
# stop_machine P: every process whose root is that machine, then its mounts
stop_machine() {
  local root pid
  root=$(root_of "$1")
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$root" ] && kill -9 "$pid" 2>/dev/null
  done
  sleep 0.5
  chroot_unmount "$root" debs
}
for p in a b; do
  root=$(root_of $p)
  chroot_unmount "$root" debs
  chroot_busy "$root" && bail "something is still mounted under $root"
  rm -rf "$root" && mkdir -p "$root" && tar -xzf "$BASE" -C "$root" || bail "cannot unpack $BASE"
  chroot_mount "$root" "debs=$WORK/deb"
  at_exit stop_machine $p
done
ok

# ---- 1. install: the user, the folders, the conffile, the man pages, the units -----------------------
for p in a b; do
  on $p 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends' \
    '/debs/pec-common_*.deb /debs/pec-milter_*.deb /debs/dovecot-pec_*.deb' > "$T_TMP/install-$p.log" 2>&1 ||
    bail "apt install on $p: $(tail -20 "$T_TMP/install-$p.log")"
done
ok
on a 'id pec' | grep -q '(postdrop)' && ok || fail "the pec user is not in postdrop"
[ "$(on a 'stat -c "%U:%G %a" /var/spool/pec/outbox /var/lib/pec/quarantine /run/pec /etc/pec/provider.conf' | tr '\n' ' ')" = \
  "pec:pec 750 pec:pec 700 pec:postfix 750 root:pec 640 " ] && ok ||
  fail "owners and modes: $(on a 'stat -c "%n %U:%G %a" /var/spool/pec/outbox /var/lib/pec/quarantine /run/pec /etc/pec/provider.conf')"
on a 'dpkg-query -W -f="\${Conffiles}\n" pec-common' | grep -q '/etc/pec/provider.conf' && ok || fail "provider.conf is not a conffile"
for page in pecctl pec.conf pec-milter pec-emitter dovecot-pec; do
  on a "MANWIDTH=80 man -P cat $page 2>&1" | grep -q "^NAME" && ok || fail "man $page does not render"
done
on a 'systemd-analyze verify /lib/systemd/system/pec-*.service /lib/systemd/system/pec-*.timer' > "$T_TMP/verify.log" 2>&1
grep -v -e '^$' "$T_TMP/verify.log" | grep -q . && fail "systemd-analyze verify: $(cat "$T_TMP/verify.log")" || ok
# unit_lines UNIT KEY: the unit's KEY= command lines, %i of a template instance expanded
unit_lines() {
  local unit=$1 key=$2 file inst=""
  case $unit in *@*) inst=${unit#*@}; file=/lib/systemd/system/${unit%%@*}@.service ;; *) file=/lib/systemd/system/$unit.service ;; esac
  on a "sed -n 's/^$key=//p' $file" | sed "s/%i/$inst/g"
}
# the shipped configuration certifies nothing: the unit's check fails and says why
pre=$(unit_lines pec-milter@access ExecStartPre)
out=$(on a "$pre" 2>&1) && fail "the check passes with the shipped provider.conf" || ok
grep -q 'required key "provider_name" missing' <<<"$out" && ok || fail "the check does not name what is missing: $out"

# ---- 2. the administrator's part: PKI, database, provider.conf, the printed Postfix and Dovecot lines --
mkdir -p "$T_TMP/pki"
"$PEC_BUILD_DIR/tests/pec-testpki" "$T_TMP/pki" pec-a.test "Gestore A S.p.A." pec-b.test "Gestore B S.p.A." \
  >/dev/null || bail "pec-testpki"
for p in a b; do
  root=$(root_of $p) dom=pec-$p.test ip=$(eval echo \$P_${p^^})
  other=$([ $p = a ] && echo b || echo a); oip=$(eval echo \$P_${other^^}); osmtp=$(eval echo \$SMTP_${other^^})
  cp "$T_TMP/pki/ca.pem" "$T_TMP/pki/index.ldif" "$root/etc/pec/"
  cp "$T_TMP/pki/$dom.pem" "$root/etc/pec/provider.pem"
  install -m 0600 "$T_TMP/pki/$dom.key" "$root/etc/pec/provider.key"
  on $p 'chown pec:pec /etc/pec/provider.key'
  # PostgreSQL: the cluster the package made, on its unix socket only (two machines share the network);
  # role pec by password, as the Dovecot plugin connects as the mail user
  on $p "sed -i \"s/^#*listen_addresses.*/listen_addresses = ''/\" /etc/postgresql/*/main/postgresql.conf &&
         sed -i '1i local pec pec scram-sha-256' /etc/postgresql/*/main/pg_hba.conf &&
         pg_ctlcluster \$(ls /etc/postgresql) main start" || bail "postgresql on $p"
  on $p "runuser -u postgres -- psql -q -c \"CREATE ROLE pec LOGIN PASSWORD '$PW'\" -c 'CREATE DATABASE pec OWNER pec'" ||
    bail "database on $p"
  sed -i 's/^clamd_socket/#clamd_socket/' "$root/etc/pec/provider.conf" # no virus signatures offline
  cat >> "$root/etc/pec/provider.conf" <<CONF
provider_name = "Gestore ${p^^} S.p.A."
mail_domain = $dom
managed_domains = $dom
cert_file = /etc/pec/provider.pem
key_file = /etc/pec/provider.key
trust_file = /etc/pec/ca.pem
index_file = /etc/pec/index.ldif
database = host=/run/postgresql dbname=pec user=pec password=$PW
allow_unscanned = yes
CONF
  on $p 'runuser -u pec -- pecctl db migrate --config /etc/pec/provider.conf' >/dev/null || bail "migrate on $p"
  # Postfix: the printed commands (systemctl has no systemd here: the daemons start below), then this
  # test's network (an address each, ports chosen now, no DNS: the other provider's MX by transport;
  # inet_interfaces = all because Postfix takes only interface addresses there, and 127.0.0.2 is not
  # one: each service line names its address instead)
  on $p 'pecctl setup postfix' > "$T_TMP/setup-postfix-$p.sh" || bail "pecctl setup postfix on $p"
  grep -v '^systemctl\|^postfix check' "$T_TMP/setup-postfix-$p.sh" > "$root/root/setup-postfix.sh"
  on $p 'bash -e /root/setup-postfix.sh' || bail "the printed Postfix commands fail on $p"
  on $p "postconf -e 'inet_interfaces = all' 'inet_protocols = ipv4' 'myhostname = mx.$dom' 'mydestination =' \
           'smtp_dns_support_level = disabled' 'mynetworks = 127.0.0.254/32' 'smtp_bind_address = $ip' \
           'maillog_file = /var/log/postfix.log' &&
         sed -i -E 's/^submission( +)inet/$ip:$(eval echo \$SUB_${p^^})\1inet/; s/^smtps( +)inet/$ip:$(eval echo \$SMTPS_${p^^})\1inet/;
                    s/^smtp( +)inet/$ip:$(eval echo \$SMTP_${p^^})\1inet/' /etc/postfix/master.cf &&
         echo 'pec-$other.test smtp:[$oip]:$osmtp' >> /etc/postfix/pec_transport &&
         postfix check" || bail "postfix check on $p"
  # Dovecot: the printed conf.d file, then this test's users, address and ports
  on $p 'pecctl setup dovecot > /etc/dovecot/conf.d/95-pec.conf' || bail "pecctl setup dovecot on $p"
  on $p "useradd -r -u 5000 -d /var/vmail -m vmail" || bail "vmail on $p"
  for u in alice bob posta-certificata; do
    echo "$u@$dom:{PLAIN}secret:5000:5000::/var/vmail/$u::" >> "$root/etc/dovecot/users"
  done
  cat > "$root/etc/dovecot/conf.d/99-test.conf" <<CONF
listen = $ip
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = /etc/dovecot/users
}
userdb {
  driver = passwd-file
  args = /etc/dovecot/users
}
service imap-login {
  inet_listener imaps {
    port = $(eval echo \$IMAPS_${p^^})
  }
}
service pop3-login {
  inet_listener pop3s {
    port = $(eval echo \$POP3S_${p^^})
  }
}
CONF
  on $p 'doveconf -n >/dev/null' || bail "doveconf on $p: $(on $p 'doveconf -n 2>&1 | tail -3')"
done
ok

# ---- 3. start as the units do, then one certified message ------------------------------------------------
for p in a b; do
  on $p 'dovecot' || bail "dovecot on $p"
  for unit in pec-milter@access pec-milter@reception pec-emitter; do
    pre=$(unit_lines $unit ExecStartPre) start=$(unit_lines $unit ExecStart)
    out=$(on $p "$pre" 2>&1) || bail "$unit on $p: its check fails: $out"
    on $p "setsid $start >>/var/log/$unit.log 2>&1 < /dev/null &"
  done
  for s in access reception emitter; do
    wait_until 10 test -S "$(root_of $p)/run/pec/$s.sock" || bail "no /run/pec/$s.sock on $p: $(cat "$(root_of $p)"/var/log/pec-*.log)"
  done
  on $p 'postfix start' >/dev/null 2>&1 || bail "postfix on $p"
done
wait_until 10 bash -c "exec 3<>/dev/tcp/$P_A/$SUB_A" 2>/dev/null && ok || fail "no submission service on $P_A:$SUB_A"
on a "swaks --silent 2 --server $P_A --port $SUB_A --tls --auth PLAIN --auth-user alice@pec-a.test \
        --auth-password secret --from alice@pec-a.test --to bob@pec-b.test,nessuno@pec-b.test \
        --header 'To: bob@pec-b.test, nessuno@pec-b.test' --header 'Subject: installata' \
        --body 'dal sistema installato'" > "$T_TMP/swaks.log" 2>&1 && ok || fail "submission: $(cat "$T_TMP/swaks.log")"
# mailbox P USER: the messages in the user's Maildir
mailbox() { cat "$(root_of "$1")"/var/vmail/"$2"/Maildir/{new,cur}/* 2>/dev/null; }
# has P USER HEADER-LINE: a message with that header line is in the mailbox
has() { mailbox "$1" "$2" | grep -q "^$3"; }
wait_until 60 has b bob 'X-Trasporto: posta-certificata' && ok ||
  fail "no busta at bob@pec-b.test: $(tail -5 "$(root_of b)/var/log/postfix.log")"
# nessuno is in no userdb: pec-b's reception point, asking Dovecot's userdb, answers with the no-dest avviso
for r in alice:accettazione posta-certificata:presa-in-carico alice:avvenuta-consegna alice:errore-consegna; do
  wait_until 60 has a "${r%%:*}" "X-Ricevuta: ${r#*:}" && ok ||
    fail "no ${r#*:} for ${r%%:*}@pec-a.test: $(tail -5 "$(root_of a)/var/log/postfix.log")"
done
# what the user holds verifies with openssl against the test CA
f=$(grep -l '^X-Trasporto: posta-certificata' "$(root_of b)"/var/vmail/bob/Maildir/{new,cur}/* 2>/dev/null | head -1)
[ -n "$f" ] && openssl smime -verify -in "$f" -CAfile "$T_TMP/pki/ca.pem" -out /dev/null 2>/dev/null && ok ||
  fail "the busta does not verify with openssl"
# alice reads them over IMAPS (implicit TLS), as the printed Dovecot lines offer
imap=$(printf 'a LOGIN alice@pec-a.test secret\r\nb SELECT INBOX\r\nc LOGOUT\r\n' |
  on a "timeout 10 openssl s_client -quiet -connect $P_A:$IMAPS_A 2>/dev/null")
grep -Eq '^\* 3 EXISTS' <<<"$imap" && ok || fail "IMAPS: $imap"
pop=$(printf 'USER alice@pec-a.test\r\nPASS secret\r\nSTAT\r\nQUIT\r\n' |
  on a "timeout 10 openssl s_client -quiet -connect $P_A:$POP3S_A 2>/dev/null")
grep -Eq '^\+OK 3 ' <<<"$pop" && ok || fail "POP3S: $pop"
# the trace (as pec, its database role)
on a "runuser -u pec -- pecctl log search --config /etc/pec/provider.conf" | grep -q accettazione && ok ||
  fail "no accettazione in pec-a's trace"

# ---- 4. purge: nothing of the packages stays, only the administrator's data ------------------------------
on a 'pkill -f /usr/sbin/pec- ; postfix stop; doveadm stop' >/dev/null 2>&1
on a 'dpkg-query -L pec-common pec-milter dovecot-pec' | sort -u > "$T_TMP/files"
on a 'DEBIAN_FRONTEND=noninteractive dpkg --purge dovecot-pec pec-milter pec-common' > "$T_TMP/purge.log" 2>&1 && ok ||
  fail "dpkg --purge: $(cat "$T_TMP/purge.log")"
left=$(while read -r f; do [ -f "$(root_of a)$f" ] && echo "$f"; done < "$T_TMP/files")
[ -z "$left" ] && ok || fail "files of the packages left after the purge: $left"
[ ! -e "$(root_of a)/run/pec" ] && ok || fail "/run/pec left after the purge"
[ ! -e "$(root_of a)/etc/pec/provider.conf" ] && ok || fail "the conffile is left after the purge"
# kept: what the administrator put there (keys, index) and the data (the outbox's served entries)
[ -f "$(root_of a)/etc/pec/provider.key" ] && ok || fail "the administrator's key was removed"
echo "package: after the purge, kept: $(cd "$(root_of a)" && find etc/pec var/spool/pec var/lib/pec -type f 2>/dev/null | wc -l) files of the administrator and data"
done_tests

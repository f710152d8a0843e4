#!/usr/bin/env bash
# package-base.sh - the base chroot of the installed-system test (tests/package/): a clean Debian of
# this release with what a Postfix + Dovecot + PostgreSQL host has, made once with debootstrap and kept
# as WORK/<suite>-base-<hash of the package list>.tar.gz.  Prints the tarball's path.  Two callers at
# once (CI prepares it beside the suite) take turns: the second finds it made.
# Usage: scripts/package-base.sh WORK
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$1
. "$SRC/scripts/chroot-lib.sh"
. /etc/os-release
PKGS="postfix dovecot-core dovecot-lmtpd dovecot-imapd dovecot-pop3d dovecot-sieve postgresql swaks
  libnet-ssleay-perl libio-socket-ssl-perl ssl-cert openssl ca-certificates systemd man-db adduser procps
  libgmime-3.0-0 libxml2 libpq5 libmilter1.0.1 libglib2.0-0"
BASE=$WORK/$VERSION_CODENAME-base-$(echo "$PKGS" | md5sum | cut -c1-8).tar.gz
mkdir -p "$WORK"
exec 9>"$WORK/.base.lock"
flock 9
if [ ! -f "$BASE" ]; then
  trap 'chroot_unmount "$WORK/base"' EXIT
  trap 'exit 130' INT TERM # so that the EXIT trap runs
  # postfix configured as an Internet site: the existing mail server the packages are added to
  chroot_make "$VERSION_CODENAME" "$WORK/base" "$BASE" "$WORK/debootstrap.log" bash -c "
    export DEBIAN_FRONTEND=noninteractive
    echo 'postfix postfix/main_mailer_type select Internet Site' | debconf-set-selections
    echo 'postfix postfix/mailname string mx.example.test' | debconf-set-selections
    apt-get update -qq && apt-get install -y -qq --no-install-recommends $(echo $PKGS) >/dev/null" >&2 ||
    { echo "package-base: the base chroot could not be made (log: $WORK/debootstrap.log)" >&2; exit 1; }
  chroot_unmount "$WORK/base"
  chroot_busy "$WORK/base" || rm -rf "$WORK/base"
fi
echo "$BASE"

#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the demo need; idempotent and non-interactive.
# Usage: packaging/install-deps.sh [build|test|deb|all]   (default: all)
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config python3 libmilter-dev libgmime-3.0-dev libxml2-dev libxml2-utils
            libgnutls28-dev gnutls-bin libpq-dev openssl)
test_pkgs=(postgresql postfix postfix-pgsql dovecot-core dovecot-lmtpd dovecot-imapd dovecot-pop3d dovecot-dev dovecot-sieve
           libmilter-dev miltertest swaks libnet-ssleay-perl libio-socket-ssl-perl python3-prometheus-client clamav-daemon faketime iproute2 procps
           clang libclang-rt-dev)
# make deb: the Debian packaging tools and the build dependencies of packaging/debian/control
deb_pkgs=("${build_pkgs[@]}" dpkg-dev debhelper fakeroot lintian dovecot-dev debootstrap)

case "${1:-all}" in
  build) want=("${build_pkgs[@]}") ;;
  deb) want=("${deb_pkgs[@]}") ;;
  test|all) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${deb_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|deb|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# No system-wide Postfix configuration: every instance is private to a test or the demo.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# trixie.sh - run the suite (or a command) inside a Debian 13 (trixie) chroot, beside Debian 12 on the host.
#
# The chroot is made once with `debootstrap --variant=minbase trixie` from the Debian archive, the
# project's packages installed in it (packaging/install-deps.sh), and kept as a tarball under
# build-trixie/, so a repeated run starts in seconds.  The source tree is bind-mounted at /src (its
# build folder there is build-trixie/build), ../shared at /shared when it exists (the real samples);
# proc, sys, dev, dev/pts and dev/shm are mounted for the services, and every mount is undone on any exit
# (scripts/chroot-lib.sh).  PEC_IN_CHROOT=trixie tells the tests where they run (the package label,
# which makes chroots of its own, runs on the host only).
#
# Usage: scripts/trixie.sh                 `make test` inside the chroot (build folders under build-trixie/)
#        TRIXIE_LABELS='lmtp|e2e' scripts/trixie.sh   only those CTest labels
#        scripts/trixie.sh --prepare       only make the chroot (and its tarball), run nothing in it
#        scripts/trixie.sh COMMAND...      a command in /src inside the chroot (e.g. bash)
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${PEC_TRIXIE_CACHE:-$SRC/build-trixie}
ROOT=$CACHE/root
TARBALL=$CACHE/trixie-root.tar.gz
TRIXIE_LABELS=${TRIXIE_LABELS:-}
. "$SRC/scripts/chroot-lib.sh"
BINDS=("src=$SRC")
[ -d "$SRC/../shared" ] && BINDS+=("shared=$(cd "$SRC/../shared" && pwd)")

[ "$(id -u)" = 0 ] || { echo "trixie.sh: needs root (debootstrap, chroot, mount)" >&2; exit 1; }
trap 'chroot_unmount "$ROOT" "${BINDS[@]}"' EXIT
trap 'exit 130' INT TERM

chroot_unmount "$ROOT" "${BINDS[@]}"
if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
  mkdir -p "$CACHE"
  CHROOT_BINDS="${BINDS[*]}" chroot_make trixie "$ROOT" "$TARBALL" "$CACHE/debootstrap.log" \
    bash -c 'cd /src && packaging/install-deps.sh all'
fi
[ "${1:-}" = --prepare ] && exit 0
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
chroot_mount "$ROOT" "${BINDS[@]}"
if [ $# -gt 0 ]; then
  chroot "$ROOT" env PEC_IN_CHROOT=trixie bash -c 'cd /src && exec "$@"' trixie "$@"
else
  chroot "$ROOT" env PEC_IN_CHROOT=trixie TRIXIE_LABELS="$TRIXIE_LABELS" bash -c '
    set -e
    cd /src
    dirs="BUILD=build-trixie/build BUILD_ASAN=build-trixie/asan BUILD_FUZZ=build-trixie/fuzz"
    if [ -z "$TRIXIE_LABELS" ]; then exec make test $dirs; fi
    make build $dirs
    cd build-trixie/build
    ctest --output-on-failure -j"$(nproc)" -L "$TRIXIE_LABELS"'
fi

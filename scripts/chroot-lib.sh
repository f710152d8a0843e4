# chroot-lib.sh - Debian chroots for the tests (sourced by scripts/trixie.sh and tests/package/): made
# once with `debootstrap --variant=minbase`, packages installed, kept as a tarball; mounted for services
# (proc, sys, dev, dev/pts, dev/shm, plus bind mounts the caller names) and unmounted on every exit.
# Needs root.

# chroot_unmount ROOT MOUNT... - unmount those under ROOT, innermost (last) first; lazily if held
chroot_unmount() {
  local root=$1 i m
  shift
  local mounts=(proc sys dev dev/pts dev/shm "$@")
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=$root/${mounts[i]%%=*}
    mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m"; }
  done
  return 0
}

# chroot_mount ROOT [DIR=SOURCE]... - what services need, then each SOURCE bind-mounted at ROOT/DIR
chroot_mount() {
  local root=$1 b
  shift
  mkdir -p "$root"/{proc,sys,dev}
  mount -t proc proc "$root/proc"
  mount -t sysfs sys "$root/sys"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  mount --bind /dev/shm "$root/dev/shm"
  for b in "$@"; do
    mkdir -p "$root/${b%%=*}"
    mount --bind "${b#*=}" "$root/${b%%=*}"
  done
  return 0
}

# chroot_busy ROOT - something is still mounted under ROOT (then nothing there may be removed: a bind
# mount of a source tree would be removed with it)
chroot_busy() { findmnt -rn -o TARGET | grep -q "^$1/"; }

# chroot_make SUITE ROOT TARBALL LOG SETUP... - ROOT from TARBALL, or a new debootstrap of SUITE (log in
# LOG) in which the command SETUP runs (with the mounts the caller gave through CHROOT_BINDS), then
# saved as TARBALL.  Services never start at install time (policy-rc.d).
chroot_make() {
  local suite=$1 root=$2 tarball=$3 log=$4
  shift 4
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  chroot_unmount "$root" ${CHROOT_BINDS:-}
  chroot_busy "$root" && { echo "chroot: something is still mounted under $root: not removing it" >&2; return 1; }
  rm -rf "$root"
  mkdir -p "$root"
  if [ -f "$tarball" ]; then
    tar -xzf "$tarball" -C "$root"
    return
  fi
  echo "chroot: debootstrap $suite into $root" >&2
  debootstrap --variant=minbase "$suite" "$root" "${PEC_DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$log" 2>&1 ||
    { tail -20 "$log" >&2; return 1; }
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot_mount "$root" ${CHROOT_BINDS:-}
  chroot "$root" "$@" || { chroot_unmount "$root" ${CHROOT_BINDS:-}; return 1; }
  chroot_unmount "$root" ${CHROOT_BINDS:-}
  tar -czf "$tarball.tmp" -C "$root" . && mv "$tarball.tmp" "$tarball"
}

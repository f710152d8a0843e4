#!/usr/bin/env bash
# make deb: the Debian packages (packaging/debian) built with dpkg-buildpackage from a copy of this tree,
# then checked with lintian (errors and warnings fail; overrides carry their reason).
# Usage: scripts/deb.sh [OUT]   (default build/deb): OUT gets the .deb, .changes, .buildinfo and lintian.log
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$(realpath -m "${1:-build/deb}")
packaging/install-deps.sh deb
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
src=$OUT/src/pec-provider-$version
rm -rf "$OUT"
mkdir -p "$src"
# the tree as it is (a clean clone in CI), without build folders and git's metadata
tar --exclude='./build*' --exclude=./.git --exclude=./packaging/debian -cf - . | tar -xf - -C "$src"
cp -a packaging/debian "$src/debian"
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") > "$OUT/build.log" 2>&1 ||
  { tail -40 "$OUT/build.log" >&2; echo "deb: dpkg-buildpackage failed (log: $OUT/build.log)" >&2; exit 1; }
mv "$OUT"/src/*.deb "$OUT"/src/*.changes "$OUT"/src/*.buildinfo "$OUT"/
rm -rf "$OUT/src"
ls "$OUT"/*.deb
lintian --fail-on error,warning --info "$OUT"/*.changes > "$OUT/lintian.log" 2>&1 ||
  { cat "$OUT/lintian.log" >&2; echo "deb: lintian found errors or warnings" >&2; exit 1; }
grep -E '^[EW]:' "$OUT/lintian.log" || echo "deb: lintian: no errors, no warnings"

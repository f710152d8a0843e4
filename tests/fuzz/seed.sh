#!/usr/bin/env bash
# seed.sh - the initial corpus of every fuzz target, written to OUT/<target>/ (under the build directory,
# never in git).  Sources: the real messages in ../shared/samples (skipped when absent), tests/golden,
# tests/data, `pecctl example` signed by the golden PKI at the golden time (so they verify, trusted and
# indexed, in the targets' fixture), packaging/examples and the committed regress/ inputs.  Files are
# named by the SHA-1 of their bytes, so seeding again adds nothing twice.
# Usage: tests/fuzz/seed.sh PECCTL OUT
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 PECCTL OUT" >&2; exit 2; }
PECCTL=$1
OUT=$2
SRC=${PEC_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
SHARED=${PEC_SHARED_DIR:-$SRC/../shared}
PKI=$SRC/tests/data/golden-pki
NOW=1795417200 # FUZZ_NOW in fuzz.h
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# put TARGET FILE...: copy each file into the target's corpus under its content's name
put() {
    local target=$1 f dest
    shift
    mkdir -p "$OUT/$target"
    for f in "$@"; do
        [ -f "$f" ] && [ -s "$f" ] || continue
        dest=$OUT/$target/$(sha1sum <"$f" | cut -c1-40)
        [ -e "$dest" ] || { cp "$f" "$dest" && chmod 644 "$dest"; }
    done
}

"$PECCTL" example --out "$TMP/ex" --time $NOW --fixed-ids --signer "$PKI/provider.pem" "$PKI/provider.key" >/dev/null
shopt -s nullglob globstar
messages=("$TMP"/ex/*.eml "$SRC"/tests/golden/messages/*.eml.ref "$SHARED"/samples/real/**/*.eml)

put message "${messages[@]}" "$SRC"/tests/fuzz/regress/message/*
put daticert "$SRC"/tests/golden/daticert/*.ref "$SHARED"/samples/daticert/*.xml "$SRC"/tests/fuzz/regress/daticert/*
put config "$SRC"/packaging/examples/provider.conf "$SRC"/tests/fuzz/regress/config/*
ldifs=("$TMP"/ex/index.ldif "$SRC"/tests/golden/messages/index.ldif.ref "$SRC"/tests/fuzz/regress/index_ldif/*)
put index_ldif "${ldifs[@]}"
put index_p7m "$SRC"/tests/fuzz/regress/index_p7m/*
put access "$SRC"/tests/fuzz/regress/access/*
put address "$SRC"/tests/fuzz/regress/address/*

# the daticert.xml of every message, and every message as a submission whose envelope matches its
# From, To and Cc (so the access point's checks pass and it signs a busta)
python3 - "$TMP/derived" "${messages[@]}" <<'PY'
import email, email.policy, email.utils, os, sys
out = sys.argv[1]
os.makedirs(out + "/daticert"); os.makedirs(out + "/access"); os.makedirs(out + "/address")
for i, path in enumerate(sys.argv[2:]):
    raw = open(path, "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    for part in msg.walk():
        if part.get_filename() == "daticert.xml":
            open("%s/daticert/%d-%s" % (out, i, id(part)), "wb").write(part.get_payload(decode=True) or b"")
    for name in ("From", "To", "Cc", "Reply-To"):
        for k, value in enumerate(msg.get_all(name, [])):
            open("%s/address/%d-%s-%d" % (out, i, name, k), "wb").write(str(value).encode("utf-8", "surrogateescape"))
    sender = email.utils.parseaddr(msg.get("From", ""))[1]
    rcpts = [a for _, a in email.utils.getaddresses(msg.get_all("To", []) + msg.get_all("Cc", [])) if a]
    env = "\n".join([sender, sender] + rcpts) + "\n\n"
    open("%s/access/%d" % (out, i), "wb").write(env.encode() + raw)
PY
put daticert "$TMP"/derived/daticert/*
put access "$TMP"/derived/access/*
put address "$TMP"/derived/address/*

# signed indexes: every LDIF seed as a CMS SignedData embedding it, by the golden provider
for f in "${ldifs[@]}"; do
    [ -f "$f" ] || continue
    openssl cms -sign -nodetach -binary -outform DER -in "$f" -signer "$PKI/provider.pem" \
        -inkey "$PKI/provider.key" -out "$TMP/signed.p7m" 2>/dev/null && put index_p7m "$TMP/signed.p7m"
done

for d in "$OUT"/*/; do
    printf 'seed %s: %s files\n' "$(basename "$d")" "$(ls "$d" | wc -l)"
done

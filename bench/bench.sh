#!/usr/bin/env bash
# bench.sh [BUILD-DIR] - `make bench`: N messages (BENCH_MESSAGES, default 2000 x BENCH_SIZE 5120 bytes)
# through plain Postfix + Dovecot and then through the PEC system, on the two-provider topology of the
# demo (tests/harness/net.sh), each phase on a fresh network and bounded in time (BENCH_PHASE_SECONDS,
# default 200).  Writes BUILD/bench/results.json; the last line printed is
#   bench: pec/plain=<x> efficiency=<y> p50_ms=<z> p99_ms=<w>
# Reports, does not assert.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PEC_SRC_DIR=$SRC
export PEC_BUILD_DIR=$(cd "${1:-$SRC/build}" && pwd)
OUT=$PEC_BUILD_DIR/bench
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "bench: run as root" >&2; exit 1; }
for p in libnet-ssleay-perl libio-socket-ssl-perl; do
  dpkg -s "$p" >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >/dev/null
done
N=${BENCH_MESSAGES:-2000}
echo "bench: $N messages of ${BENCH_SIZE:-5120} bytes, alice@pec-a.test -> bob@pec-b.test, ${BENCH_CONNS:-4} connections"
echo "bench: plain Postfix + Dovecot ..."
bash "$SRC/bench/phase.sh" plain "$OUT/plain.json" || { echo "bench: plain phase failed" >&2; exit 1; }
echo "bench: PEC system ..."
bash "$SRC/bench/phase.sh" pec "$OUT/pec.json" || { echo "bench: PEC phase failed" >&2; exit 1; }
RATE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rate"])' "$OUT/pec.json")
LRATE=$(python3 -c "print(round(max(0.1, $RATE * ${BENCH_LOAD:-0.1}), 3))")
echo "bench: PEC latency at $LRATE msgs/s ..."
bash "$SRC/bench/phase.sh" latency "$OUT/latency.json" "$LRATE" || { echo "bench: latency phase failed" >&2; exit 1; }
# the core's signatures per second (one core) against openssl speed rsa2048
PKI=$(mktemp -d /tmp/pec-bench-pki.XXXXXX)
"$PEC_BUILD_DIR/tests/pec-testpki" "$PKI" pec-a.test "Gestore A S.p.A." >/dev/null
SIGS=$("$PEC_BUILD_DIR/tests/pec-signbench" "$PKI/pec-a.test.pem" "$PKI/pec-a.test.key" 3 2>/dev/null || echo 0)
rm -rf "$PKI"
OSSL=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $6}')
python3 - "$OUT" "$SIGS" "${OSSL:-0}" "$N" <<'PY'
import json, os, platform, subprocess, sys
out, sigs, ossl, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3] or 0), int(sys.argv[4])
plain = json.load(open(os.path.join(out, "plain.json")))
pec = json.load(open(os.path.join(out, "pec.json")))
lat = json.load(open(os.path.join(out, "latency.json")))
rp, rc = plain["rate"], pec["rate"]
lrate = round(max(0.1, rc * float(os.environ.get("BENCH_LOAD", 0.1))), 3)
ratio = rc / rp if rp else 0.0
cpu = ""
try:
    cpu = [l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")][0]
except Exception:
    pass
res = {
    "messages": n, "size": int(os.environ.get("BENCH_SIZE", 5120)),
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release()},
    "plain": plain, "pec": pec, "latency": lat,
    "plain_rate": rp, "pec_rate": rc, "ratio": round(ratio, 4),
    "mta_work_factor": 3.7, "efficiency": round(ratio * 3.7, 4),
    "latency_at_load": {"load": float(os.environ.get("BENCH_LOAD", 0.1)), "rate": lrate,
                        "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"], "arrived": lat["arrived"], "submitted": lat["submitted"]},
    "core_signatures_per_s": sigs, "openssl_speed_rsa2048_sign_per_s": ossl,
    "cpu": {m: json.load(open(os.path.join(out, m + ".cpu.json"))) for m in ("plain", "pec")
            if os.path.exists(os.path.join(out, m + ".cpu.json"))},
    "core_vs_openssl": round(sigs / ossl, 3) if ossl else None,
}
json.dump(res, open(os.path.join(out, "results.json"), "w"), indent=2)
def line(name, r, what):
    print("bench: %-6s %.1f msgs/s (%d submitted, %d %s in %.1f s%s)" % (name, r["rate"], r["submitted"], r["arrived"], what,
          r["elapsed_s"], "" if r["complete"] else "; bounded in time: not all %d sent or arrived" % n))
line("plain", plain, "delivered")
line("pec", pec, "consegne")
print("bench: latency at %.2f msgs/s (10%% of capacity): p50 %s ms, p99 %s ms (%d/%d arrived)" % (lrate, lat["p50_ms"], lat["p99_ms"], lat["arrived"], lat["submitted"]))
print("bench: core signatures %.0f/s vs openssl speed rsa2048 %.0f sign/s" % (sigs, ossl))
for m, what in (("plain", plain), ("pec", pec)):
    c = res["cpu"].get(m)
    if not c or not what["arrived"]:
        continue
    print("bench: %s CPU per message %.1f ms (%.1f s over %.0f s, sampled every 0.2 s):" %
          (m, 1000 * c["total_cpu_s"] / what["arrived"], c["total_cpu_s"], c["interval_s"]))
    for name, v in c["components"].items():
        print("bench:   %-36s %6.1f ms/msg %5.1f %%" % (name, 1000 * v["cpu_s"] / what["arrived"], 100 * v["share"]))
print("bench: results in %s/results.json" % out)
print("bench: pec/plain=%.3f efficiency=%.3f p50_ms=%s p99_ms=%s" % (ratio, ratio * 3.7, lat["p50_ms"], lat["p99_ms"]))
PY

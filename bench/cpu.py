#!/usr/bin/env python3
"""cpu.py - the CPU time each component of a bench phase used, for `make bench`'s per-component table.

  cpu.py OUT-JSON STOP-FILE

Samples /proc every 0.2 s until STOP-FILE exists, keeping for each process of the programs below (pid
and start time, so a reused pid is another process) its latest user + system time; at the end sums the
time used since the start by component and writes {"interval_s", "total_cpu_s", "components": {name:
{"cpu_s", "share"}}} to OUT-JSON.  Every process of those programs counts, so the machine should run
nothing else of them.  A process that lives less than one interval is missed, and one that exits loses
at most its last interval: the table is an estimate, and says so."""
import json
import os
import sys
import time

# command name (as in /proc/PID/stat) -> component; Dovecot's processes are told by their titles
# ("dovecot/lmtp"), since Postfix has an lmtp and an anvil of its own
COMPONENTS = {
    "pec-milter": "pec-milter", "pec-emitter": "pec-emitter",
    "postgres": "postgresql",
    "master": "postfix", "smtpd": "postfix", "cleanup": "postfix", "qmgr": "postfix", "smtp": "postfix",
    "lmtp": "postfix", "trivial-rewrite": "postfix", "bounce": "postfix", "tlsmgr": "postfix",
    "anvil": "postfix", "pickup": "postfix", "proxymap": "postfix", "scache": "postfix", "verify": "postfix",
    "dovecot": "dovecot", "clamd": "clamd", "python3": "bench client",
}


def component(comm, cmdline):
    if cmdline.startswith("dovecot/lmtp"):
        return "dovecot lmtp"
    if cmdline.startswith("dovecot/"):
        return "dovecot"
    return COMPONENTS.get(comm)
TICK = os.sysconf("SC_CLK_TCK")


def sample(seen):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        cpu = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        start = fields[19]
        name = component(comm, cmdline)
        if name == "bench client" and "bench.py" not in cmdline:
            continue
        if name is not None:
            seen[(pid, start)] = (name, cpu)


def main():
    out, stop = sys.argv[1], sys.argv[2]
    seen, base = {}, {}
    sample(base)  # what was used before the phase started is not the phase's
    t0 = time.time()
    while not os.path.exists(stop):
        sample(seen)
        time.sleep(0.2)
    sample(seen)
    comps = {}
    for key, (name, cpu) in seen.items():
        comps[name] = comps.get(name, 0.0) + cpu - base.get(key, (name, 0.0))[1]
    total = sum(comps.values())
    json.dump({"interval_s": round(time.time() - t0, 1), "total_cpu_s": round(total, 2),
               "note": "sampled every 0.2 s: processes shorter than that are missed",
               "components": {k: {"cpu_s": round(v, 2), "share": round(v / total, 3) if total else 0}
                              for k, v in sorted(comps.items(), key=lambda kv: -kv[1]) if v > 0}},
              open(out, "w"), indent=2)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench.py - one measurement of `make bench`: submit messages and wait for what proves their arrival.

  bench.py --port P --ca CA --user U --password PW --to RCPT --maildir DIR [--match REGEX]
           --count N --size BYTES [--conns C] [--rate R] [--timeout S] --tag TAG

Submits N messages of about BYTES bytes over STARTTLS + AUTH (C parallel connections, or one
connection paced at R messages/s), each with Subject "TAG-<i>".  Then polls DIR (a Maildir) until N
messages whose headers match REGEX (the consegna receipts: "^X-Ricevuta: avvenuta-consegna") or all
messages (plain delivery) carrying "TAG-<i>" in their Subject arrived, or the timeout.  Prints one JSON
object: count, arrived, first_submit, last_submit, last_arrival, rate (arrived per second from the first
submission to the last arrival), latencies in ms (p50, p99) from each submission to its arrival
(arrival = the stored file's mtime)."""
import argparse
import json
import os
import re
import smtplib
import ssl
import threading
import time
from email.utils import formatdate, make_msgid


def message(sender, rcpt, subject, size):
    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempo\r\n"
    body = line * max(1, size // len(line))
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n%s" %
            (sender, rcpt, subject, formatdate(localtime=True), make_msgid(domain="bench.test"), body))


def connect(a, ctx):
    s = smtplib.SMTP("127.0.0.1", a.port, local_hostname="bench.test", timeout=120)
    s.starttls(context=ctx)
    s.ehlo("bench.test")
    s.login(a.user, a.password)
    return s


def submit(a, indices, sent, ctx, pace=None, errors=None, stop_at=None):
    s = connect(a, ctx)
    start = time.time()
    for k, i in enumerate(indices):
        if stop_at and time.time() > stop_at:
            break  # bounded in time: what was submitted is measured
        if pace:
            delay = start + k / pace - time.time()
            if delay > 0:
                time.sleep(delay)
        subj = "%s-%d" % (a.tag, i)
        msg = message(a.user, a.to, subj, a.size)
        for attempt in range(3):
            try:
                t = time.time()
                s.sendmail(a.user, [a.to], msg)
                sent[i] = t
                break
            except (smtplib.SMTPException, OSError) as e:
                if errors is not None:
                    errors.append(str(e))
                try:
                    s.close()
                except Exception:
                    pass
                time.sleep(0.5)
                s = connect(a, ctx)
    try:
        s.quit()
    except Exception:
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="secret")
    p.add_argument("--to", required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--match", default=None)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--size", type=int, default=5120)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--rate", type=float, default=None)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--tag", default="bench")
    a = p.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.check_hostname = False
    sent = {}
    errors = []
    t0 = time.time()
    stop_at = t0 + 0.75 * a.timeout
    if a.rate:
        threads = [threading.Thread(target=submit, args=(a, list(range(a.count)), sent, ctx, a.rate, errors, stop_at))]
    else:
        parts = [list(range(c, a.count, a.conns)) for c in range(a.conns)]
        threads = [threading.Thread(target=submit, args=(a, part, sent, ctx, None, errors, stop_at)) for part in parts]
    arrived = {}
    seen = set()
    subj_re = re.compile(r"^Subject: .*?\b%s-(\d+)\s*$" % re.escape(a.tag), re.M)
    match_re = re.compile(a.match, re.M) if a.match else None
    stop = threading.Event()

    def poll():
        while True:
            done = stop.is_set()
            for sub in ("new", "cur"):
                d = os.path.join(a.maildir, sub)
                try:
                    names = os.listdir(d)
                except FileNotFoundError:
                    continue
                for n in names:
                    if n in seen:
                        continue
                    path = os.path.join(d, n)
                    try:
                        with open(path, "rb") as f:
                            head = f.read(16384).decode("latin-1")
                        mt = os.stat(path).st_mtime
                    except FileNotFoundError:
                        continue  # moved new -> cur: seen next round
                    seen.add(n)
                    head = head.split("\n\n", 1)[0]
                    if match_re and not match_re.search(head):
                        continue
                    m = subj_re.search(head)
                    if m:
                        arrived.setdefault(int(m.group(1)), mt)
            if done or len(arrived) >= a.count:
                return
            time.sleep(0.2)

    poller = threading.Thread(target=poll)
    poller.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = t0 + a.timeout
    while len(arrived) < len(sent) and time.time() < deadline:
        time.sleep(0.2)
    stop.set()
    poller.join()
    first = min(sent.values()) if sent else t0
    last_arrival = max(arrived.values()) if arrived else time.time()
    lat = sorted((arrived[i] - sent[i]) * 1000 for i in arrived if i in sent)

    def pct(q):
        return round(lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else None

    elapsed = max(1e-6, last_arrival - first)
    print(json.dumps({
        "count": a.count, "submitted": len(sent), "arrived": len(arrived),
        "complete": len(arrived) >= a.count, "all_submitted_arrived": len(arrived) >= len(sent), "elapsed_s": round(elapsed, 3),
        "submit_s": round(max(sent.values()) - first, 3) if sent else None,
        "rate": round(len(arrived) / elapsed, 2), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
        "submit_errors": len(errors), "first_error": errors[0] if errors else None,
    }))


if __name__ == "__main__":
    main()

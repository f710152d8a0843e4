#!/usr/bin/env python3
"""sinksplit.py OUTDIR DUMP... - split Postfix smtp-sink -d dump files (one Python start for many).

For each DUMP named N: OUTDIR/N.eml is the message with CRLF line ends (the sink's X-* records, its
Received header and the empty line it appends are dropped), OUTDIR/N.daticert.xml and
OUTDIR/N.postacert.eml its parts of those names when present (decoded by Python's email package, not
by the code under test).  Prints one line per dump, fields separated by US (0x1f):
    path  envelope-sender(<> when null)  envelope-recipients(comma)  X-Ricevuta  To  Content-Type"""
import os
import re
import sys
from email import policy
from email.parser import BytesParser

outdir = sys.argv[1]
for dump in sys.argv[2:]:
    lines = open(dump, "rb").read().split(b"\n")
    mail_from, rcpts, i = "", [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(b"X-Mail-Args:"):
            m = re.search(rb"<([^>]*)>", line)
            mail_from = m.group(1).decode() if m else ""
        elif line.startswith(b"X-Rcpt-Args:"):
            m = re.search(rb"<([^>]*)>", line)
            rcpts.append(m.group(1).decode() if m else "")
        elif line.startswith(b"Received:") and b"(smtp-sink)" in b"".join(lines[i:i + 3]):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
            break
        elif not line.startswith(b"X-"):
            break
        i += 1
    body = lines[i:]
    while body and body[-1] in (b"", b"\r"):
        body.pop()
    data = b"".join(l.rstrip(b"\r") + b"\r\n" for l in body)
    name = os.path.join(outdir, os.path.basename(dump))
    with open(name + ".eml", "wb") as f:
        f.write(data)
    msg = BytesParser(policy=policy.compat32).parsebytes(data)
    for part in msg.walk():
        fn = part.get_filename() or part.get_param("name")
        if fn in ("daticert.xml", "postacert.eml"):
            payload = part.get_payload(decode=True)
            if payload is None:
                payload = part.get_payload(0).as_bytes()
            with open(name + "." + fn, "wb") as f:
                f.write(payload)
    def h(k):
        return " ".join((msg.get(k) or "").split())
    print("\x1f".join([name, mail_from or "<>", ",".join(rcpts), h("X-Ricevuta"), h("To"), h("Content-Type")]))

#!/usr/bin/env python3
"""sinkmsg.py [--rcpt] FILE - the message (or its envelope recipients) of one smtp-sink capture file.

smtp-sink writes named attributes (X-Mail-Args, X-Rcpt-Args, ...) before the message proper."""
import sys

args = sys.argv[1:]
want_rcpt = args and args[0] == "--rcpt"
data = open(args[-1], "rb").read()
lines = data.split(b"\n")
rcpts, i = [], 0
while i < len(lines) and lines[i].startswith(b"X-") and b": " in lines[i]:
    name, _, value = lines[i].partition(b": ")
    if name in (b"X-Rcpt-Args",):
        rcpts.append(value.strip().split(b" ")[0].strip(b"<>").decode())
    if name in (b"X-Client-Addr", b"X-Client-Proto", b"X-Helo-Args", b"X-Mail-Args", b"X-Rcpt-Args"):
        i += 1
        continue
    break
if want_rcpt:
    print("\n".join(rcpts))
else:
    # smtp-sink stores LF line ends; the message travelled with CRLF (what S/MIME signs)
    sys.stdout.buffer.write(b"\r\n".join(l.rstrip(b"\r") for l in lines[i:]))

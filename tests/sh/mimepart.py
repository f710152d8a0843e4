#!/usr/bin/env python3
"""mimepart.py FILE NAME - print the decoded content of the part named NAME (e.g. daticert.xml).

An independent MIME reader (Python's email package) for the tests: it checks our output with a parser
we did not write.  Exit 1 when no such part exists."""
import sys
from email import policy
from email.parser import BytesParser

with open(sys.argv[1], "rb") as f:
    msg = BytesParser(policy=policy.compat32).parse(f)
for part in msg.walk():
    if part.get_filename() == sys.argv[2] or part.get_param("name") == sys.argv[2]:
        payload = part.get_payload(decode=True)
        if payload is None:  # message/rfc822: print it as it stands
            payload = part.get_payload(0).as_bytes()
        sys.stdout.buffer.write(payload)
        sys.exit(0)
sys.exit(1)

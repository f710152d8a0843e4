#!/usr/bin/env python3
"""attach_sha1.py BUSTA NAME - SHA-1 (hex) of the attachment NAME of the original carried in the busta's
postacert.eml, as transferred: its transfer-encoded lines, each ended by CRLF (RFC 6109 §3.3.2.2 breve:
"calculated on the base64 encoded parts").  Computed with Python's email parser, not the core."""
import hashlib
import sys
from email import policy
from email.parser import BytesParser

busta = BytesParser(policy=policy.compat32).parse(open(sys.argv[1], "rb"))
for part in busta.walk():
    if part.get_filename() == "postacert.eml":
        original = part.get_payload(0)
        for p in original.walk():
            if p.get_filename() == sys.argv[2]:
                raw = p.get_payload(decode=False)
                data = "".join(l + "\r\n" for l in raw.splitlines()).encode("ascii")
                print(hashlib.sha1(data).hexdigest())
                sys.exit(0)
sys.exit(1)

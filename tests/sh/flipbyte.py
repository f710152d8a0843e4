#!/usr/bin/env python3
"""flipbyte.py IN OUT - copy a multipart/signed message, changing one letter inside its signed part."""
import re
import sys

data = bytearray(open(sys.argv[1], "rb").read())
m = re.search(rb'boundary="([^"]+)"', data)
start = data.index(b"--" + m.group(1) + b"\r\n") + len(m.group(1)) + 4
end = data.index(b"\r\n--" + m.group(1), start)
# change a letter of a text line in the middle of the signed part (not a header name or boundary)
pos = start + (end - start) // 2
while not (chr(data[pos]).isalpha()):
    pos += 1
data[pos] = ord("x") if data[pos] != ord("x") else ord("y")
open(sys.argv[2], "wb").write(data)

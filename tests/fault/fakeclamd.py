#!/usr/bin/env python3
"""fakeclamd.py - a clamd that misbehaves on request, for the fault suite.

Speaks clamd's INSTREAM protocol on a unix socket.  Before each answer it reads MODE_FILE:
  ok       answer "stream: OK", or "stream: Fault.Test.Virus FOUND" when the stream holds the marker
  slow     the same after SLOW_SECONDS
  garbage  answer bytes no clamd sends
Stopping clamd is done by killing this process.  Usage: fakeclamd.py SOCKET MODE_FILE
"""
import os
import socket
import socketserver
import struct
import sys
import time

VIRUS_MARKER = b"FAULT-TEST-VIRUS-SIGNATURE"
SLOW_SECONDS = 4


def read_exact(f, n):
    data = f.read(n)
    if data is None or len(data) != n:
        raise EOFError
    return data


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            command = b""
            while not command.endswith(b"\0"):
                command += read_exact(self.rfile, 1)
            if command != b"zINSTREAM\0":
                self.wfile.write(b"UNKNOWN COMMAND\0")
                return
            infected, tail = False, b""
            while True:
                (length,) = struct.unpack(">I", read_exact(self.rfile, 4))
                if length == 0:
                    break
                chunk = read_exact(self.rfile, length)
                infected = infected or VIRUS_MARKER in tail + chunk
                tail = chunk[-len(VIRUS_MARKER):]
            mode = open(self.server.mode_file).read().strip()
            if mode == "slow":
                time.sleep(SLOW_SECONDS)
            if mode == "garbage":
                self.wfile.write(b"\x01\x02 ERROR? stream maybe\n")
            elif infected:
                self.wfile.write(b"stream: Fault.Test.Virus FOUND\0")
            else:
                self.wfile.write(b"stream: OK\0")
        except (EOFError, ConnectionError):
            pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main():
    path, mode_file = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    server = Server(path, Handler)
    server.mode_file = mode_file
    os.chmod(path, 0o666)
    server.serve_forever()


if __name__ == "__main__":
    main()

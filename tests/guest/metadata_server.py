"""Answers one HTTP request on stdin/stdout with a file under DIR (argv[1]): the
metadata service for a guest, run by QEMU's user-mode network for each connection
to 169.254.169.254:80 (`guestfwd=…-cmd:`)."""

import sys
from pathlib import Path

root = Path(sys.argv[1]).resolve()
request = sys.stdin.buffer.readline().split()
while sys.stdin.buffer.readline() not in (b"\r\n", b"\n", b""):
    pass
path = root / request[1].decode().lstrip("/") if len(request) > 1 else root
if path.is_file() and root in path.resolve().parents:
    body = path.read_bytes()
    sys.stdout.buffer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
else:
    sys.stdout.buffer.write(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
sys.stdout.buffer.flush()

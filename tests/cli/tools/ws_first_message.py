#!/usr/bin/env python3
"""Opens a websocket (http:// or ws:// URL, subprotocol "binary") and prints the payload of the
first message it receives, as text. Enough to prove a VNC console URL reaches the VM's VNC
server, whose first words are its RFB version. Standard library only.

usage: ws_first_message.py URL
"""
import base64
import os
import socket
import struct
import sys
from urllib.parse import urlsplit

url = urlsplit(sys.argv[1])
host, port = url.hostname, url.port or 80
path = url.path + ("?" + url.query if url.query else "")
sock = socket.create_connection((host, port), timeout=10)
key = base64.b64encode(os.urandom(16)).decode()
sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
              f"Sec-WebSocket-Protocol: binary\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf:
    chunk = sock.recv(4096)
    if not chunk:
        sys.exit("connection closed during the handshake")
    buf += chunk
head, rest = buf.split(b"\r\n\r\n", 1)
status = head.split(b"\r\n")[0].decode()
if " 101 " not in status + " ":
    sys.exit(f"no websocket upgrade: {status}")


def read(n):
    global rest
    while len(rest) < n:
        chunk = sock.recv(4096)
        if not chunk:
            sys.exit("connection closed")
        rest += chunk
    out, rest = rest[:n], rest[n:]
    return out


b0, b1 = read(2)
length = b1 & 0x7F
if length == 126:
    length = struct.unpack(">H", read(2))[0]
elif length == 127:
    length = struct.unpack(">Q", read(8))[0]
print(read(length).decode(errors="replace").strip())

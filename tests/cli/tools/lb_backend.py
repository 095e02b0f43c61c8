#!/usr/bin/env python3
"""Load balancer members that tell what reached them (for tests/cli/loadbalancer.sh).

  lb_backend.py http ADDR PORT NAME    HTTP: answers "NAME xff=<X-Forwarded-For>" to any GET
  lb_backend.py proxy ADDR PORT NAME   TCP behind a PROXY (v1 or v2) header: answers an HTTP
                                       response "NAME proxy=<client address from the header>"
  lb_backend.py udp ADDR PORT NAME     UDP: answers each datagram with "NAME"

Runs until killed. Stdlib only: it runs in a tenant router's namespace on the test host.
"""
import ipaddress
import socket
import socketserver
import struct
import sys

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def http_response(body: str) -> bytes:
    b = (body + "\n").encode()
    return b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(b), b)


def read_until(conn, marker: bytes, limit=65536) -> bytes:
    data = b""
    while marker not in data and len(data) < limit:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def proxy_source(conn) -> tuple:
    """The client address of a PROXY header (v1 text or v2 binary) and the bytes after it."""
    head = b""
    while len(head) < 16:
        chunk = conn.recv(16 - len(head))
        if not chunk:
            return "none", head
        head += chunk
    if head[:12] == V2_SIGNATURE:
        length = struct.unpack("!H", head[14:16])[0]
        rest = b""
        while len(rest) < length:
            chunk = conn.recv(length - len(rest))
            if not chunk:
                break
            rest += chunk
        family = head[13] >> 4
        if family == 1 and len(rest) >= 12:
            return "v2:" + str(ipaddress.IPv4Address(rest[0:4])), b""
        if family == 2 and len(rest) >= 36:
            return "v2:" + str(ipaddress.IPv6Address(rest[0:16])), b""
        return "v2:local", b""
    if head.startswith(b"PROXY "):
        data = head + read_until(conn, b"\r\n")
        line, _, after = data.partition(b"\r\n")
        parts = line.decode(errors="replace").split()
        return ("v1:" + parts[2]) if len(parts) >= 3 else "v1:unknown", after
    return "none", head


class Http(socketserver.StreamRequestHandler):
    def handle(self):
        data = read_until(self.request, b"\r\n\r\n")
        xff = "none"
        for line in data.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"x-forwarded-for":
                xff = v.strip().decode(errors="replace")
        self.request.sendall(http_response(f"{self.server.name} xff={xff}"))


class Proxy(socketserver.StreamRequestHandler):
    def handle(self):
        source, rest = proxy_source(self.request)
        if b"\r\n\r\n" not in rest:
            read_until(self.request, b"\r\n\r\n")
        self.request.sendall(http_response(f"{self.server.name} proxy={source}"))


class Udp(socketserver.BaseRequestHandler):
    def handle(self):
        _data, sock = self.request
        sock.sendto(self.server.name.encode() + b"\n", self.client_address)


class TcpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("http", "proxy", "udp"):
        sys.exit(__doc__)
    kind, addr, port, name = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if kind == "udp":
        server = socketserver.UDPServer((addr, port), Udp)
    else:
        server = TcpServer((addr, port), Http if kind == "http" else Proxy)
    server.name = name
    print(f"{kind} {name} on {addr}:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    main()

#!/usr/bin/env python3
"""tests/integration/media_server.py — a loopback image server for the
`aisle import --fetch-images` tests (CLI, gateway and browser suites):
good images and every way a third-party server goes wrong.  Prints its
port on the first line of stdout, then serves until killed.

  /red.png /green.png /blue.png  real PNGs (16x16, one colour each)
  /dot.gif                       a real GIF (1x1)
  /photo.jpg                     JPEG magic bytes, as image/jpeg
  /same-as-red.png               the bytes of /red.png under another URL
  /moved.png                     302 to /blue.png (a redirect that ends well)
  /large.png                     3 MiB of PNG magic and varied bytes (under the limit)
  /huge.png                      6 MiB (a PNG header and padding), Content-Length declared
  /huge-stream.png               the same with no Content-Length (read to the close)
  /lying.png                     an HTML page served as image/png
  /wrong-type.png                a real PNG served as text/html
  /slow.png                      answers after 30 s
  /missing.png                   404
  /loop-a -> /loop-b -> /loop-a  a redirect loop
  /hits?path=/red.png            how many times a path was asked for (JSON)
"""
import json
import struct
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def png(rgb, size=16):
    def chunk(kind, data):
        c = struct.pack('>I', len(data)) + kind + data
        return c + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    row = b'\x00' + bytes(rgb) * size
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', size, size, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(row * size)) + chunk(b'IEND', b''))


GIF = (b'GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xcc\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00'
       b',\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;')
JPEG = b'\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00' + b'\x00' * 64 + b'\xff\xd9'
HUGE = b'\x89PNG\r\n\x1a\n' + b'\x00' * (6 * 1024 * 1024)
# 3 MiB under the limit, every 64 KiB piece different: served back in pieces
LARGE = b'\x89PNG\r\n\x1a\n' + b''.join(struct.pack('>I', i) * 16 for i in range(3 * 1024 * 1024 // 64))
FILES = {
    '/red.png': ('image/png', png((0xc0, 0x39, 0x2b))),
    '/green.png': ('image/png', png((0x27, 0xae, 0x60))),
    '/blue.png': ('image/png', png((0x29, 0x80, 0xb9))),
    '/same-as-red.png': ('image/png', png((0xc0, 0x39, 0x2b))),
    '/dot.gif': ('image/gif', GIF),
    '/photo.jpg': ('image/jpeg; charset=binary', JPEG),
    '/lying.png': ('image/png', b'<!doctype html><html><body><script>alert(1)</script></body></html>'),
    '/wrong-type.png': ('text/html', png((1, 2, 3))),
    '/large.png': ('image/png', LARGE),
}
REDIRECTS = {'/moved.png': '/blue.png', '/loop-a': '/loop-b', '/loop-b': '/loop-a'}
hits = {}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.0'

    def log_message(self, *args):
        pass

    def send(self, status, ctype, body, length=True):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        if length:
            self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the client stopped reading: what the size limit does

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == '/hits':
            p = parse_qs(u.query).get('path', [''])[0]
            with lock:
                n = hits.get(p, 0)
            return self.send(200, 'application/json', json.dumps({'path': p, 'hits': n}).encode())
        with lock:
            hits[u.path] = hits.get(u.path, 0) + 1
        if u.path in FILES:
            ctype, body = FILES[u.path]
            return self.send(200, ctype, body)
        if u.path in REDIRECTS:
            self.send_response(302)
            self.send_header('Location', REDIRECTS[u.path])
            self.send_header('Content-Length', '0')
            self.end_headers()
            return None
        if u.path == '/huge.png':
            return self.send(200, 'image/png', HUGE)
        if u.path == '/huge-stream.png':
            return self.send(200, 'image/png', HUGE, length=False)
        if u.path == '/slow.png':
            time.sleep(30)
            return self.send(200, 'image/png', FILES['/red.png'][1])
        return self.send(404, 'text/plain', b'not found\n')


def main():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""tests/bench/http/ws_callgrind.py -- instructions of a served chat turn.

The measurement of docs/benchmarks.md (sessions 27 to 29, issue #13):
`aisle serve` (the shipped pipelines/commerce.yaml on the sample catalog)
under `valgrind --tool=callgrind --toggle-collect=gw__chan_message`, one
WebSocket sending the commerce mix's six messages (ws.mjs, chat_mix.sh)
ROUNDS (10) times, each with a clientMsgId, AISLE_TRACES_RATE=0.001.
Prints the instructions collected, a turn's share of them, and writes the
replies (the session id taken out) one a line to REPLIES, so that two
binaries' replies can be compared byte for byte.  Python's standard
library only (no node_modules needed).

Usage, from the repository root:
  python3 tests/bench/http/ws_callgrind.py [--aisle build/aisle]
      [--out callgrind.out] [--replies replies.txt] [--rounds 10]
      [--no-valgrind] [--log server.log]
"""
import argparse, base64, json, os, re, shutil, signal, socket
import struct, subprocess, sys, tempfile, time

MIX = ['show me sunglasses', 'tell me more about the first one', 'add it to my cart',
       'whats in my cart?', 'only the ones under 30 dollars', 'remove it from my cart']
YAML = 'limits:\n  ip_rps: 0\n  user_rps: 0\nhttp:\n  max_conns_per_ip: 0\n  max_idle_per_ip: 0\n'


class WS:
    """A minimal WebSocket client: text frames, masked, no extensions."""

    def __init__(self, port, path='/ws'):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=600)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f'GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n'
                        f'Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n'
                        'Sec-WebSocket-Version: 13\r\n\r\n').encode())
        self.buf = b''
        while b'\r\n\r\n' not in self.buf:
            d = self.s.recv(4096)
            if not d:
                raise RuntimeError('connection closed during the handshake')
            self.buf += d
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        if b' 101 ' not in head.split(b'\r\n')[0]:
            raise RuntimeError('no upgrade: ' + head.decode(errors='replace'))

    def _need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise RuntimeError('connection closed')
            self.buf += d

    def send(self, obj):
        data = json.dumps(obj).encode()
        n = len(data)
        hdr = bytes([0x81])
        if n < 126:
            hdr += bytes([0x80 | n])
        elif n < 65536:
            hdr += bytes([0x80 | 126]) + struct.pack('>H', n)
        else:
            hdr += bytes([0x80 | 127]) + struct.pack('>Q', n)
        mask = os.urandom(4)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        """The next text message (fragments joined), as text."""
        msg = b''
        while True:
            self._need(2)
            b0, b1 = self.buf[0], self.buf[1]
            n, off = b1 & 0x7f, 2
            if n == 126:
                self._need(4)
                n, off = struct.unpack('>H', self.buf[2:4])[0], 4
            elif n == 127:
                self._need(10)
                n, off = struct.unpack('>Q', self.buf[2:10])[0], 10
            if b1 & 0x80:
                off += 4   # a server never masks; tolerated
            self._need(off + n)
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            op = b0 & 0x0f
            if op == 8:
                raise RuntimeError('closed by the server')
            if op in (9, 10):
                continue   # ping/pong: not answered (no server pings in 60 turns)
            msg += payload
            if b0 & 0x80:
                return msg.decode()


def scrub(text):
    """A reply frame without what differs per run: the session id, the
    32-hex-digit names made from it (the anonymous cart's id, the action
    keys) and the trace id."""
    text = re.sub(r'"(sessionId|traceId)":"[^"]*"', r'"\1":"-"', text)
    return re.sub(r'\b[0-9a-f]{32}\b', 'H' * 32, text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--aisle', default='build/aisle')
    ap.add_argument('--out', default='callgrind.out')
    ap.add_argument('--replies', default='replies.txt')
    ap.add_argument('--rounds', type=int, default=10)
    ap.add_argument('--no-valgrind', action='store_true')
    ap.add_argument('--log', help="keep the server's output (stdout and stderr) in this file")
    a = ap.parse_args()

    d = tempfile.mkdtemp(prefix='aisle-cg-')
    with open(os.path.join(d, 'aisle.yaml'), 'w') as f:
        f.write(YAML)
    argv = [a.aisle, 'serve', '--config', os.path.join(d, 'aisle.yaml'), '--listen', '127.0.0.1:0',
            '--ws-listen', '127.0.0.1:0', '--db', os.path.join(d, 'aisle.db'),
            '--pipeline', 'pipelines/commerce.yaml', '--seed-catalog', 'examples/catalog/products.json']
    if not a.no_valgrind:
        argv = ['valgrind', '--tool=callgrind', '--toggle-collect=gw__chan_message',
                f'--callgrind-out-file={a.out}'] + argv
    env = dict(os.environ, AISLE_JWT_SECRET='test-secret-' + 'x' * 40, AISLE_LLM='off',
               AISLE_TRACES_RATE='0.001')
    log = open(os.path.join(d, 'server.log'), 'w+')
    # the server's output to a file: a pipe left unread could fill and block it
    p = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
    try:
        ws_port, t0 = None, time.time()
        while ws_port is None:
            with open(log.name) as f:
                m = re.search(r'\{[^\n]*"event":"listening"[^\n]*\}', f.read())
            if m:
                ws_port = json.loads(m.group(0))['wsPort']
            elif time.time() - t0 > 300 or p.poll() is not None:
                with open(log.name) as f:
                    sys.exit('aisle serve did not start: ' + f.read()[-2000:])
            else:
                time.sleep(0.2)
        ws = WS(ws_port)
        while json.loads(ws.recv()).get('type') != 'hello':
            pass
        replies = []
        for k in range(a.rounds * len(MIX)):
            ws.send({'type': 'message', 'text': MIX[k % len(MIX)], 'clientMsgId': f'cg-{k}'})
            while True:
                t = ws.recv()
                if json.loads(t).get('type') in ('reply', 'error'):
                    replies.append(scrub(t))
                    break
        ws.s.close()
        with open(a.replies, 'w') as f:
            f.write('\n'.join(replies) + '\n')
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(120)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if a.log:
            shutil.copyfile(log.name, a.log)
        shutil.rmtree(d, ignore_errors=True)
    turns = a.rounds * len(MIX)
    if not a.no_valgrind:
        total = None
        with open(a.out) as f:
            for line in f:
                if line.startswith('summary:') or line.startswith('totals:'):
                    total = int(line.split()[1])
        print(json.dumps({'turns': turns, 'instructions': total, 'perTurn': round(total / turns),
                          'errors': sum('"type":"error"' in r for r in replies)}))
    else:
        print(json.dumps({'turns': turns, 'errors': sum('"type":"error"' in r for r in replies)}))


if __name__ == '__main__':
    main()

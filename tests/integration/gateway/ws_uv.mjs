// tests/integration/gateway/ws_uv.mjs — the event-loop WebSocket transport
// (ws.listen, gateway/ws_uv.c) against the attacks of issue #12: idle
// sockets that once held every civetweb thread, a frame declaring 128 MiB,
// half-open upgrade requests (slowloris), a client that never reads; and
// RFC 6455 behaviour (fragments, ping/pong, idle pings, close), a slow turn
// that must not block other sockets, and the same reply as the civetweb
// transport.  Loopback addresses 127.0.0.x stand for different clients.
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ok, req, wsOpen, sleep, startServer, stopServer, rawWsOpen, wsFrames, timed } from './lib.mjs';

const rssKb = (srv) => Number(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);

function frame(op, payload, fin = true) {
  const body = Buffer.from(payload);
  const len = body.length;
  let h;
  if (len < 126) { h = Buffer.alloc(2); h[1] = 0x80 | len; }
  else if (len < 65536) { h = Buffer.alloc(4); h[1] = 0x80 | 126; h.writeUInt16BE(len, 2); }
  else { h = Buffer.alloc(10); h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(len), 2); }
  h[0] = (fin ? 0x80 : 0) | op;
  const mask = randomBytes(4);
  for (let i = 0; i < len; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([h, mask, body]);
}

// server frames (unmasked) out of a buffer
const parse = wsFrames;

export async function wsUvTests() {
  const yaml = 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n' +
    'ws:\n  handshake_timeout_ms: 1000\n  idle_timeout_ms: 6000\n  max_queue_bytes: 65536\n';
  const srv = await startServer({ yaml, env: { AISLE_TEST_HOOKS: '1', AISLE_TEST_TURN_DELAY_MS: '800' } });
  const ref = await startServer({ yaml, civetweb: true });   // the civetweb transport, for the same reply
  try {
    ok(srv.wsPort > 0 && /event loop/.test(srv.err), 'ws.listen: /ws on its own event-loop listener', srv.err.slice(-300));

    // idle pings and the idle close, in the background
    const idle = await wsOpen(srv, undefined, { localAddress: '127.0.0.9' });
    let pinged = 0;
    idle.on('ping', () => { pinged++; });
    const idleClosed = idle.closed(12000);

    // a chat turn: the same reply as the civetweb transport
    const a = await wsOpen(srv), b = await wsOpen(ref);
    await a.next((f) => f.type === 'hello'); await b.next((f) => f.type === 'hello');
    a.sendJson({ type: 'message', text: 'what is your return policy', clientMsgId: 'm1' });
    b.sendJson({ type: 'message', text: 'what is your return policy', clientMsgId: 'm1' });
    // while a's turn runs (800 ms), another socket and a's own control pings are answered
    const other = await wsOpen(srv, undefined, { localAddress: '127.0.0.8' });
    await other.next((f) => f.type === 'hello');
    const [pong, pms] = await timed(() => { other.sendJson({ type: 'ping', id: 1 }); return other.next((f) => f.type === 'pong'); });
    const [, cms] = await timed(() => new Promise((r) => { a.once('pong', r); a.ping('x'); }));
    ok(pong && pms < 400 && cms < 400, 'a slow turn blocks neither other sockets nor its own socket\'s pings', { pms, cms });
    const [ra, rb] = [await a.next((f) => f.type === 'reply', 8000), await b.next((f) => f.type === 'reply', 8000)];
    ok(ra && rb && ra.text === rb.text && ra.intent?.name === rb.intent?.name &&
       JSON.stringify(ra.cards) === JSON.stringify(rb.cards) && JSON.stringify(ra.suggestions) === JSON.stringify(rb.suggestions),
       'a chat turn over the event loop gives the same reply as over civetweb', { ra, rb });

    // fragmented message with a control ping between its fragments
    const pongP = new Promise((r) => a.once('pong', (d) => r(d.toString())));
    const msg = JSON.stringify({ type: 'ping', id: 42 });
    a.send(msg.slice(0, 5), { fin: false });
    a.ping('mid');
    a.send(msg.slice(5, 12), { fin: false });
    a.send(msg.slice(12), { fin: true });
    const fp = await a.next((f) => f.type === 'pong');
    ok(fp?.id === 42 && (await pongP) === 'mid', 'fragmented message reassembled; a ping between fragments gets its pong', fp);
    // a continuation with no message in progress: close 1002
    const raw0 = await rawWsOpen(srv.wsPort, '127.0.0.7');
    raw0.write(frame(0, 'x'));
    await Promise.race([raw0.closedP, sleep(3000)]);
    const c0 = parse(raw0.data).find((f) => f.op === 8);
    ok(c0 && c0.payload.readUInt16BE(0) === 1002, 'continuation without a message: close 1002', c0 && c0.payload.readUInt16BE(0));
    // an unmasked frame from a client: close 1002
    const raw1 = await rawWsOpen(srv.wsPort, '127.0.0.7');
    raw1.write(Buffer.from([0x81, 0x02, 0x7b, 0x7d]));
    await Promise.race([raw1.closedP, sleep(3000)]);
    const c1 = parse(raw1.data).find((f) => f.op === 8);
    ok(c1 && c1.payload.readUInt16BE(0) === 1002, 'unmasked client frame: close 1002');
    a.close(); b.close(); other.close();

    // 130 idle WebSockets, then /healthz and a product answer in under 100 ms
    const sku = (await req(srv, 'GET', '/api/v1/products?limit=1')).json?.items?.[0]?.sku;
    const rss0 = rssKb(srv);
    const many = [];
    for (let i = 0; i < 130; i++) many.push(wsOpen(srv, undefined, { localAddress: `127.0.1.${1 + (i % 4)}` }));
    const socks = await Promise.all(many);
    await Promise.all(socks.map((w) => w.next((f) => f.type === 'hello')));
    const rss1 = rssKb(srv);
    const [h, hms] = await timed(() => req(srv, 'GET', '/healthz'));
    const [p, prm] = await timed(() => req(srv, 'GET', `/api/v1/products/${encodeURIComponent(sku)}`));
    ok(h.status === 200 && hms < 100 && p.status === 200 && prm < 100,
       '130 idle WebSockets: /healthz and GET /api/v1/products/{sku} answer in under 100 ms', { hms, prm, status: [h.status, p.status] });
    console.log(`# 130 idle WebSockets: RSS +${rss1 - rss0} kB (${((rss1 - rss0) / 130).toFixed(1)} kB each, sessions included); /healthz ${hms.toFixed(1)} ms, product ${prm.toFixed(1)} ms`);
    socks.forEach((w) => w.close());

    // a frame declaring 128 MiB: close 1009, nothing allocated for it
    const raw2 = await rawWsOpen(srv.wsPort, '127.0.0.6');
    const r0 = rssKb(srv);
    const hdr = Buffer.alloc(14);
    hdr[0] = 0x81; hdr[1] = 0x80 | 127; hdr.writeBigUInt64BE(128n * 1024n * 1024n, 2); randomBytes(4).copy(hdr, 10);
    raw2.write(hdr);
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < 8 && !raw2.destroyed; i++) { raw2.write(chunk); await sleep(20); }
    await Promise.race([raw2.closedP, sleep(4000)]);
    const r1 = rssKb(srv);
    const c2 = parse(raw2.data).find((f) => f.op === 8);
    ok(c2 && c2.payload.readUInt16BE(0) === 1009 && r1 - r0 < 4096, 'a frame declaring 128 MiB: close 1009, RSS within 4 MB',
       { code: c2 && c2.payload.readUInt16BE(0), rssKb: [r0, r1] });

    // 160 half-open upgrade requests from one address: others unaffected, all closed after the timeout
    const half = [];
    let halfClosed = 0;
    for (let i = 0; i < 160; i++) {
      const s = net.connect({ port: srv.wsPort, host: '127.0.0.1', localAddress: '127.0.0.5' });
      s.on('error', () => {});
      s.on('close', () => { halfClosed++; });
      s.on('connect', () => s.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'));
      half.push(s);
    }
    await sleep(200);
    const [w2, wms] = await timed(async () => { const w = await wsOpen(srv, undefined, { localAddress: '127.0.0.4' }); await w.next((f) => f.type === 'hello'); return w; });
    const [h2, h2ms] = await timed(() => req(srv, 'GET', '/healthz'));
    ok(w2 && wms < 500 && h2.status === 200 && h2ms < 100, '160 half-open upgrades from one address do not delay another client', { wms, h2ms });
    const early = halfClosed;
    await sleep(2200);
    ok(early >= 160 - 64 && halfClosed === 160, 'half-open upgrades: over the per-address cap at once, the rest after the handshake timeout', { early, after: halfClosed });
    const w3 = await wsOpen(srv, undefined, { localAddress: '127.0.0.5' }).catch((e) => e);
    ok(w3 && w3.next && (await w3.next((f) => f.type === 'hello')), 'the address gets its slots back after the timeout');
    w2.close(); if (w3?.close) w3.close();

    // a client that never reads: dropped at ws.max_queue_bytes, memory
    // flat. Its own server with a long idle timeout: on a loaded machine
    // filling the kernel's buffers can take longer than `srv`'s 6 s, and
    // an idle close is not what this checks.
    const bp = await startServer({ yaml: yaml.replace('idle_timeout_ms: 6000', 'idle_timeout_ms: 120000') });
    const raw3 = await rawWsOpen(bp.wsPort, '127.0.0.3');
    raw3.pause();
    const q0 = rssKb(bp);
    const ping = frame(9, 'p'.repeat(125));
    const batch = Buffer.concat(Array.from({ length: 1000 }, () => ping));
    let sent = 0;
    for (let i = 0; i < 300 && !raw3.destroyed; i++) {
      if (!raw3.write(batch)) await Promise.race([new Promise((r) => raw3.once('drain', r)), raw3.closedP, sleep(2000)]);
      sent += batch.length;
    }
    const gone = await Promise.race([raw3.closedP.then(() => true), sleep(3000).then(() => false)]);
    // the server's log line travels through a pipe: it may arrive after the close
    for (let t = 0; gone && t < 40 && !/ws_backpressure_close/.test(bp.out + bp.err); t++) await sleep(50);
    const q1 = rssKb(bp);
    // under AddressSanitizer (make check) freed memory sits in its quarantine
    const flat = process.env.ASAN_OPTIONS ? 65536 : 8192;
    ok(gone && q1 - q0 < flat && /ws_backpressure_close/.test(bp.out + bp.err), 'a client that never reads is dropped; server RSS flat',
       { gone, sentMB: (sent / 1e6).toFixed(1), rssKb: [q0, q1], log: (bp.out + bp.err).slice(-400) });
    await stopServer(bp);

    // idle: pinged, then closed 1001 after ws.idle_timeout_ms without a message
    const ic = await idleClosed;
    ok(pinged >= 1 && ic && ic.code === 1001, 'idle WebSocket pinged, then closed 1001', { pinged, ic });
    ok(!srv.exited, 'the event-loop server survived every test', srv.exited);
  } finally {
    await stopServer(srv);
    await stopServer(ref);
  }
}

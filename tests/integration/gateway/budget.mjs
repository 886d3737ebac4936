// tests/integration/gateway/budget.mjs — civetweb's worker threads against
// the attacks of issue #12 item 2 (and item 1 where civetweb carries the
// WebSockets, ws.listen: none): half-open requests (slowloris) on the HTTP
// listener, idle WebSockets on civetweb, a frame declaring 128 MiB there.
// gateway/conns.c keeps waits per peer address and a reserve of workers;
// these check that another client is answered promptly meanwhile.
// Loopback addresses 127.0.x.y stand for different clients.
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ok, req, wsOpen, sleep, startServer, stopServer, metric, rawWsOpen, wsFrames, timed } from './lib.mjs';

const rssKb = (srv) => Number(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
// a request on a new connection (a kept-alive one would hold a worker of
// its own already) that gives up after 3 s: without the budget it waits
// for a worker until http.request_timeout_ms (10 s)
function quick(srv, path) {
  return new Promise((resolve) => {
    const r = http.get({ host: '127.0.0.1', port: srv.port, path, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    r.on('timeout', () => { r.destroy(); resolve('timeout'); });
    r.on('error', (e) => resolve(e.code || e.message));
  });
}

// n connections that send part of a request's headers and then nothing
function halfOpen(srv, n, addrs, state) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: addrs[i % addrs.length] });
    s.on('error', () => {});
    s.on('close', () => { state.closed++; });
    s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    socks.push(s);
  }
  return socks;
}

// the close code of the server's close frame in buf, or null
function closeCode(buf) {
  const c = wsFrames(buf).find((f) => f.op === 8 && f.payload.length >= 2);
  return c ? c.payload.readUInt16BE(0) : null;
}

const LIMITS = 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n';

export async function budgetTests() {
  // REST on civetweb (the chat on the event loop, as shipped): defaults of
  // http.num_threads 128, http.thread_reserve 16, http.max_idle_per_ip 32
  let srv = await startServer({ yaml: LIMITS });
  try {
    const sku = (await req(srv, 'GET', '/api/v1/products?limit=1')).json?.items?.[0]?.sku;
    // 160 half-open requests from five addresses (32 each: under the
    // per-address cap), more than the workers left after the reserve
    const st = { closed: 0 };
    const addrs = ['127.0.2.1', '127.0.2.2', '127.0.2.3', '127.0.2.4', '127.0.2.5'];
    const socks = halfOpen(srv, 160, addrs, st);
    // a request sent as they arrive: they hold the workers for at most
    // the grace of 500 ms before the oldest are closed
    await sleep(50);
    const [h0, h0ms] = await timed(() => quick(srv, '/healthz'));
    ok(h0 === 200 && h0ms < 1500, '160 half-open requests arriving: another request waits under 1.5 s (the 500 ms grace and a sweep)', { h0, h0ms });
    await sleep(700);
    const [h, hms] = await timed(() => quick(srv, '/healthz'));
    const [p, pms] = await timed(() => quick(srv, `/api/v1/products/${encodeURIComponent(sku)}`));
    ok(h === 200 && hms < 100 && p === 200 && pms < 100,
       '160 half-open requests from five addresses: /healthz and GET /api/v1/products/{sku} answer in under 100 ms',
       { h, hms, p, pms, closedEarly: st.closed });
    console.log(`# 160 half-open requests (5 addresses): /healthz ${h0ms.toFixed(1)} ms as they arrive, then ${hms.toFixed(1)} ms, product ${pms.toFixed(1)} ms; ${st.closed} closed by the budget`);
    ok(st.closed >= 160 - (128 - 16), 'half-open requests past num_threads - http.thread_reserve are closed after the 500 ms grace', st.closed);
    const m = (await req(srv, 'GET', '/metrics')).text;
    ok(metric(m, 'aisle_http_waits_closed_total') >= 48 && metric(m, 'aisle_http_waiting_connections') <= 128 - 16,
       '/metrics counts the waits closed and those held', { closed: metric(m, 'aisle_http_waits_closed_total'), waiting: metric(m, 'aisle_http_waiting_connections') });
    // a normal client keeps working while they stay open
    const statuses = await Promise.all(Array.from({ length: 20 }, () => quick(srv, '/healthz')));
    ok(statuses.every((s) => s === 200), '20 parallel requests beside the half-open ones are all answered', statuses);
    socks.forEach((s) => s.destroy());
    await sleep(100);

    // one address: at most http.max_idle_per_ip of its waits are kept
    const one = { closed: 0 };
    const socks1 = halfOpen(srv, 64, ['127.0.2.9'], one);
    await sleep(800);
    ok(one.closed >= 32, 'one address with 64 half-open requests: past http.max_idle_per_ip (32) its oldest are closed within 0.8 s', one.closed);
    const [h1, h1ms] = await timed(() => quick(srv, '/healthz'));
    ok(h1 === 200 && h1ms < 100, 'and another client is answered in under 100 ms', { h1, h1ms });
    // the address is not shut out: a whole request of its own is answered
    const mine = await new Promise((resolve) => {
      const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: '127.0.2.9' });
      let got = '';
      s.on('error', () => resolve('error'));
      s.on('data', (d) => { got += d; if (/\r\n\r\n/.test(got)) { s.destroy(); resolve(got.split('\r\n')[0]); } });
      s.on('connect', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      setTimeout(() => { s.destroy(); resolve('timeout: ' + got); }, 3000);
    });
    ok(/ 200 /.test(mine), 'a complete request from that address is still answered', mine);
    socks1.forEach((s) => s.destroy());
  } finally {
    await stopServer(srv);
  }

  // ws.listen none: civetweb carries /ws, one worker per socket
  srv = await startServer({ yaml: LIMITS + 'ws:\n  idle_timeout_ms: 4000\n', civetweb: true });
  try {
    const sku = (await req(srv, 'GET', '/api/v1/products?limit=1')).json?.items?.[0]?.sku;
    // 130 idle WebSockets from four addresses
    const opened = await Promise.all(Array.from({ length: 130 }, (_, i) =>
      wsOpen(srv, undefined, { localAddress: `127.0.3.${1 + (i % 4)}`, handshakeTimeout: 4000 }).catch((e) => e)));
    const socks = opened.filter((w) => w.next);
    const refused = opened.filter((w) => !w.next).map((e) => e.message);
    const [h, hms] = await timed(() => quick(srv, '/healthz'));
    const [p, pms] = await timed(() => quick(srv, `/api/v1/products/${encodeURIComponent(sku)}`));
    const okRefused = (m) => m === 'HTTP 503' || m === 'socket hang up';
    ok(h === 200 && hms < 100 && p === 200 && pms < 100,
       'civetweb /ws: 130 idle WebSockets, then /healthz and GET /api/v1/products/{sku} answer in under 100 ms',
       { h, hms, p, pms, open: socks.length, refused: refused.length });
    console.log(`# civetweb /ws, 130 idle WebSockets: ${socks.length} open, ${refused.length} refused; /healthz ${hms.toFixed(1)} ms, product ${pms.toFixed(1)} ms`);
    // past the budget an upgrade gets 503, or, still waiting for a worker
    // to read it, is closed as the oldest wait
    ok(socks.length === 128 - 2 * 16 && refused.length === 130 - socks.length && refused.every(okRefused) && refused.includes('HTTP 503'),
       'civetweb /ws: upgrades past num_threads - 2 x http.thread_reserve are refused (503) at once', { open: socks.length, refused: [...new Set(refused)] });
    socks.forEach((w) => w.close());
    await sleep(300);
    // one address: at most http.max_idle_per_ip sockets
    const mine = await Promise.all(Array.from({ length: 36 }, () =>
      wsOpen(srv, undefined, { localAddress: '127.0.3.9', handshakeTimeout: 4000 }).catch((e) => e)));
    const mineOpen = mine.filter((w) => w.next);
    const mineRefused = mine.filter((w) => !w.next).map((e) => e.message);
    ok(mineOpen.length === 32 && mineRefused.every((m) => m === 'HTTP 429' || m === 'socket hang up'),
       'civetweb /ws: one address gets http.max_idle_per_ip (32) sockets, then 429', { open: mineOpen.length, refused: [...new Set(mineRefused)] });
    mineOpen.forEach((w) => w.close());
    await sleep(300);

    // a frame declaring 128 MiB: close 1009 before its payload is read
    const raw = await rawWsOpen(srv.port, '127.0.3.20');
    const r0 = rssKb(srv);
    const hdr = Buffer.alloc(14);
    hdr[0] = 0x81; hdr[1] = 0x80 | 127; hdr.writeBigUInt64BE(128n * 1024n * 1024n, 2); randomBytes(4).copy(hdr, 10);
    raw.write(hdr);
    const chunk = randomBytes(1 << 20);
    for (let i = 0; i < 8 && !raw.destroyed; i++) { raw.write(chunk); await sleep(20); }
    await Promise.race([raw.closedP, sleep(4000)]);
    const r1 = rssKb(srv);
    ok(closeCode(raw.data) === 1009 && r1 - r0 < 4096, 'civetweb /ws: a frame declaring 128 MiB: close 1009, RSS within 4 MB',
       { code: closeCode(raw.data), rssKb: [r0, r1] });
    console.log(`# civetweb /ws, a frame declaring 128 MiB: close ${closeCode(raw.data)}, RSS ${r0} -> ${r1} kB`);
    raw.destroy();

    // an idle socket is closed 1001 after ws.idle_timeout_ms (4 s here)
    const idle = await wsOpen(srv, undefined, { localAddress: '127.0.3.21' });
    const t0 = Date.now();
    const ic = await idle.closed(8000);
    const ims = Date.now() - t0;
    ok(ic && ic.code === 1001 && ims > 3000 && ims < 7000, 'civetweb /ws: an idle socket is closed 1001 after ws.idle_timeout_ms', { ic, ims });
    // and a socket in use still chats after the reader change
    const live = await wsOpen(srv, undefined, { localAddress: '127.0.3.22' });
    live.sendJson({ type: 'ping', id: 7 });
    const pong = await live.next((f) => f.type === 'pong');
    ok(pong && pong.id === 7, 'civetweb /ws: frames are read and answered', pong);
    live.close();
  } finally {
    await stopServer(srv);
  }
}

// tests/integration/gateway/lib.mjs — helpers for the gateway tests: start
// a real `aisle serve` on a free loopback port with a temporary database,
// HTTP and WebSocket clients, and the ok/not ok reporter tests/run.sh counts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import WebSocket from 'ws';

export const AISLE = process.env.AISLE || 'build/aisle';
export const SECRET = 'test-secret-' + 'x'.repeat(40);
let failures = 0;

export function ok(cond, name, detail) {
  if (cond) console.log(`ok ${name}`);
  else {
    failures++;
    console.log(`not ok ${name}`);
    if (detail !== undefined) console.log('  ' + String(typeof detail === 'string' ? detail : JSON.stringify(detail)).slice(0, 800).replace(/\n/g, '\n  '));
  }
  return cond;
}
export const skip = (name, why) => console.log(`skip ${name}: ${why}`);
export const failed = () => failures;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// a port nothing listens on now; never one this process handed out
// before, so that servers started side by side (each with an HTTP and a
// WebSocket port) cannot be given the same one before either binds it
const handedOut = new Set();
export async function freePort() {
  for (;;) {
    const p = await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const port = s.address().port;
        s.close(() => resolve(port));
      });
      s.on('error', reject);
    });
    if (!handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
}

export function tmp() { return mkdtempSync(join(tmpdir(), 'aisle-gw-')); }

// the body of a checkout (POST /orders) that the test provider accepts:
// an address, the shop's first delivery option, the test card 4242...
export const TEST_ADDRESS = { name: 'Alice Example', line1: '1 Main Street', city: 'Springfield', region: 'IL', postalCode: '62701', country: 'US' };
export const TEST_CARD = { cardNumber: '4242 4242 4242 4242', expiry: '12/34', cvc: '123' };
export const CHECKOUT = { address: TEST_ADDRESS, payment: TEST_CARD };
/* the saved address and card a chat checkout needs (the chat never takes
 * a card), through the REST resources the checkout page uses */
export async function saveCheckoutFacts(srv, token) {
  const a = await req(srv, 'PUT', '/api/v1/me/address', { token, body: TEST_ADDRESS });
  const c = await req(srv, 'PUT', '/api/v1/me/payment-method', { token, body: TEST_CARD });
  if (a.status !== 200 || c.status !== 200) throw new Error(`saving the checkout facts: ${a.status} ${c.status} ${a.text} ${c.text}`);
}

// start a server; `yaml` is the config file's text; resolves when /healthz answers
// The chat WebSocket is on its own event-loop listener, as `aisle serve`
// ships (ws.listen auto); the port is picked here so that servers side by
// side never race for "port + 1". civetweb: true keeps /ws on the HTTP
// port (ws.listen none), the other transport; shipped: true passes no
// --ws-listen at all (the default, "auto": the HTTP port + 1).
// dir: a folder of an earlier server (its database: a restart after a crash)
export async function startServer({ yaml = '', args = [], env = {}, pipeline = 'examples/faq/faq.yaml', seed = true, civetweb = false, shipped = false, dir: reuse } = {}) {
  const dir = reuse || tmp();
  // the server binds port 0 and says which port it got ("listening"):
  // a port chosen here first could be taken by then (other servers of
  // parallel conversations, the kernel's own ephemeral ports). `shipped`
  // serves the WebSocket on the HTTP port + 1, so it needs a known port.
  let port = shipped ? await freePort() : 0;
  const cfg = join(dir, 'aisle.yaml');
  writeFileSync(cfg, yaml);
  const argv = ['serve', '--config', cfg, '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'aisle.db'), '--pipeline', pipeline, ...args];
  let wsPort = 0;
  const explicitWs = args.includes('--ws-listen');
  if (civetweb) {
    argv.push('--ws-listen', 'none');
  } else if (shipped) {
    wsPort = port + 1;   // no --ws-listen: what `aisle serve` does by default
  } else if (!explicitWs) {
    argv.push('--ws-listen', '127.0.0.1:0');
  }
  if (seed) argv.push('--seed-catalog', 'examples/catalog/products.json');
  const proc = spawn(AISLE, argv, {
    env: { ...process.env, AISLE_JWT_SECRET: SECRET, AISLE_LLM: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const srv = { proc, port, wsPort, dir, base: `http://127.0.0.1:${port}`, out: '', err: '', exited: null };
  proc.stdout.on('data', (d) => { srv.out += d; if (srv.out.length > 4e6) srv.out = srv.out.slice(-2e6); });
  proc.stderr.on('data', (d) => { srv.err += d; });
  srv.exit = new Promise((r) => proc.on('exit', (code, sig) => { srv.exited = { code, sig }; r(srv.exited); }));
  for (let i = 0; i < 400 && !srv.port; i++) {
    if (srv.exited) throw new Error(`aisle serve exited ${JSON.stringify(srv.exited)}: ${srv.err}`);
    const m = (srv.out + srv.err).match(/\{[^\n]*"event":"listening"[^\n]*\}/);
    if (m) {
      const l = JSON.parse(m[0]);
      srv.port = l.port;
      if (!civetweb && !shipped && !explicitWs) srv.wsPort = l.wsPort;
      srv.base = `http://127.0.0.1:${srv.port}`;
      break;
    }
    await sleep(25);
  }
  if (!srv.port) throw new Error('aisle serve did not say which port it listens on: ' + srv.err);
  for (let i = 0; i < 200; i++) {
    if (srv.exited) throw new Error(`aisle serve exited ${JSON.stringify(srv.exited)}: ${srv.err}`);
    try {
      const r = await fetch(srv.base + '/healthz');
      if (r.ok) return srv;
    } catch { /* not yet */ }
    await sleep(50);
  }
  throw new Error('aisle serve did not answer /healthz: ' + srv.err);
}

export async function stopServer(srv) {
  if (!srv) return;
  if (!srv.exited) {
    srv.proc.kill('SIGTERM');
    const t = setTimeout(() => srv.proc.kill('SIGKILL'), 8000);
    await srv.exit;
    clearTimeout(t);
  }
  rmSync(srv.dir, { recursive: true, force: true });
}

// one request; body: object (JSON), string or Buffer. Returns {status, headers, json, text}
export async function req(srv, method, path, { body, token, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let b = body;
  if (body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body)) {
    b = JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  const r = await fetch(srv.base + path, { method, headers: h, body: b });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: r.status, headers: r.headers, json, text };
}

// the admin role comes only from `aisle admin grant` on the server's
// database: register `email` (unless it exists), grant, log in again;
// resolves to the login answer (accessToken, user.role === 'admin')
export async function makeAdmin(srv, email, password = 'correct horse battery') {
  let r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email, password, name: 'Admin' } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`register ${email}: ${r.status} ${r.text}`);
  const g = spawnSync(AISLE, ['admin', 'grant', email, '--db', join(srv.dir, 'aisle.db')], { encoding: 'utf8' });
  if (g.status !== 0) throw new Error(`aisle admin grant ${email}: ${g.status} ${g.stderr}`);
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${r.text}`);
  return r.json;
}

export const isProblem = (r, status, slug) =>
  r.status === status && r.headers.get('content-type') === 'application/problem+json' &&
  r.json && r.json.type === `urn:aisle:problem:${slug}` && r.json.status === status;

// a WebSocket with a frame queue: next(pred) waits for the first matching frame
export async function wsOpen(srv, token, opts = {}) {
  const url = `ws://127.0.0.1:${srv.wsPort || srv.port}/ws` + (token ? `?token=${encodeURIComponent(token)}` : '');
  const ws = new WebSocket(url, opts);
  const frames = [];
  const waiters = [];
  ws.closeInfo = null;
  ws.on('message', (data, isBinary) => {
    let f;
    try { f = JSON.parse(data.toString()); } catch { f = { raw: data.toString(), isBinary }; }
    frames.push(f);
    for (const w of [...waiters]) w();
  });
  ws.on('close', (code, reason) => { ws.closeInfo = { code, reason: reason.toString() }; for (const w of [...waiters]) w(); });
  ws.on('error', () => {});
  await new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); ws.once('unexpected-response', (q, r) => rej(new Error('HTTP ' + r.statusCode))); });
  ws.frames = frames;
  ws.next = (pred, ms = 5000) => new Promise((resolve) => {
    const check = () => {
      const i = frames.findIndex(pred);
      if (i >= 0) { cleanup(); resolve(frames.splice(i, 1)[0]); return true; }
      if (ws.closeInfo && !frames.length) { cleanup(); resolve(null); return true; }
      return false;
    };
    const w = () => check();
    const t = setTimeout(() => { cleanup(); resolve(null); }, ms);
    const cleanup = () => { clearTimeout(t); const k = waiters.indexOf(w); if (k >= 0) waiters.splice(k, 1); };
    if (!check()) waiters.push(w);
  });
  ws.closed = (ms = 3000) => new Promise((resolve) => {
    if (ws.closeInfo) return resolve(ws.closeInfo);
    const t = setTimeout(() => resolve(null), ms);
    ws.once('close', () => { clearTimeout(t); setImmediate(() => resolve(ws.closeInfo)); });
  });
  ws.sendJson = (o) => ws.send(JSON.stringify(o));
  return ws;
}

export function metric(text, name, labels = '') {
  const line = text.split('\n').find((l) => l.startsWith(name + (labels ? `{${labels}}` : '') + ' '));
  return line ? Number(line.split(' ').pop()) : 0;
}

export function routes() {
  const r = spawnSync(AISLE, ['serve', '--routes'], { encoding: 'utf8' });
  return JSON.parse(r.stdout);
}

// a JWT signed with `key` (HS256) or unsigned (alg none)
import { createHmac, randomBytes } from 'node:crypto';
export function jwt(header, payload, key) {
  const b = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = b(header) + '.' + b(payload);
  if (!key) return data + '.';
  return data + '.' + createHmac('sha256', key).update(data).digest('base64url');
}
export function jwtPayload(tok) { return JSON.parse(Buffer.from(tok.split('.')[1], 'base64url').toString()); }

// the loopback fake LLM provider (tests/fake_llm/server.js): resolves to
// {proc, port}; it exits when proc.stdin ends
export function startFake() {
  return new Promise((resolve, reject) => {
    const p = spawn('node', ['tests/fake_llm/server.js'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    p.stdout.on('data', (d) => {
      buf += d;
      const m = buf.match(/PORT (\d+)/);
      if (m) resolve({ proc: p, port: Number(m[1]) });
    });
    p.on('error', reject);
    setTimeout(() => reject(new Error('fake LLM did not start')), 10000);
  });
}

// a raw socket that completed a WebSocket upgrade on `port` from
// `localAddress`; s.data collects what follows, s.closedP settles on close
export function rawWsOpen(port, localAddress = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    let head = Buffer.alloc(0);
    s.data = Buffer.alloc(0);
    s.closedP = new Promise((r) => s.on('close', r));
    s.on('error', () => {});
    s.once('connect', () => s.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    const onData = (d) => {
      head = Buffer.concat([head, d]);
      const e = head.indexOf('\r\n\r\n');
      if (e < 0) return;
      s.off('data', onData);
      if (!head.subarray(0, 12).toString().includes('101')) return reject(new Error(head.toString()));
      s.data = head.subarray(e + 4);
      s.on('data', (x) => { s.data = Buffer.concat([s.data, x]); });
      resolve(s);
    };
    s.on('data', onData);
    setTimeout(() => reject(new Error('no 101')), 5000);
  });
}

// the whole server frames (unmasked) in buf: [{op, payload}]
export function wsFrames(buf) {
  const out = [];
  let i = 0;
  while (buf.length - i >= 2) {
    let len = buf[i + 1] & 0x7f, at = i + 2;
    if (len === 126) { if (buf.length - i < 4) break; len = buf.readUInt16BE(i + 2); at = i + 4; }
    else if (len === 127) { if (buf.length - i < 10) break; len = Number(buf.readBigUInt64BE(i + 2)); at = i + 10; }
    if (buf.length < at + len) break;
    out.push({ op: buf[i] & 0x0f, payload: buf.subarray(at, at + len) });
    i = at + len;
  }
  return out;
}

// [fn's result, milliseconds it took]
export async function timed(fn) { const t = process.hrtime.bigint(); const r = await fn(); return [r, Number(process.hrtime.bigint() - t) / 1e6]; }

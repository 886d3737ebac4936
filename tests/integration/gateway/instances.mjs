// tests/integration/gateway/instances.mjs — two `aisle serve` processes
// sharing one real redis-server (sessions, limits, tokens, events) and one
// SQLite file (documents), alone and behind a real nginx on loopback that
// spreads requests over both (round robin), as docs/operations.md deploys
// them: a cart changed through one instance reaches the chat open on the
// other, an inspector on one sees the other's turns, a conversation that
// hops between instances keeps its context, and a rate limit holds across
// them. Prints ok / not ok lines.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ok, req, wsOpen, sleep, startServer, stopServer, freePort, makeAdmin, failed } from './lib.mjs';
import { startRedis } from './stores.mjs';

const NGINX = process.env.NGINX || '/usr/sbin/nginx';

async function startNginx(http, ws) {
  const dir = mkdtempSync(join(tmpdir(), 'aisle-nginx-'));
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream aisle { ${http.map((p) => `server 127.0.0.1:${p};`).join(' ')} keepalive 16; }
  upstream aisle_ws { ${ws.map((p) => `server 127.0.0.1:${p};`).join(' ')} }
  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
  server {
    listen 127.0.0.1:${port};
    location /ws {
      proxy_pass http://aisle_ws;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 180s;
    }
    location / {
      proxy_pass http://aisle;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`);
  const proc = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d) => { log += d; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch { /* not yet */ }
    await sleep(50);
  }
  return {
    port, base, wsPort: port, proc,
    log: () => log,
    async stop() { proc.kill('SIGQUIT'); await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r))); rmSync(dir, { recursive: true, force: true }); },
  };
}

const redis = await startRedis();
const env = { AISLE_REDIS_URL: redis.url };
const yaml = 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 3\n  user_burst: 6\nhttp:\n  trusted_proxy: 127.0.0.1\n';
let a, b, ngx;
try {
  a = await startServer({ yaml, env, pipeline: 'pipelines/commerce.yaml' });
  const db = join(a.dir, 'aisle.db');
  b = await startServer({ yaml, env, pipeline: 'pipelines/commerce.yaml', seed: false, args: ['--db', db] });

  const ra = (await req(a, 'GET', '/readyz')).json, rb = (await req(b, 'GET', '/readyz')).json;
  ok(ra?.stores?.ephemeral === 'redis' && rb?.stores?.ephemeral === 'redis' && ra.sharedEvents === true &&
     rb.sharedEvents === true && ra.instance && ra.instance !== rb.instance,
     'instances: both use the shared Redis for ephemeral data and events, with their own ids', { ra, rb });

  // a cart changed through A reaches the chat open on B
  const anon = (await req(a, 'POST', '/api/v1/auth/anonymous', { body: {} })).json;
  const tok = anon.sessionToken;
  const wsB = await wsOpen(b, tok);
  await wsB.next((f) => f.type === 'hello' || f.type === 'session', 3000);
  const list = (await req(a, 'GET', '/api/v1/products?q=sunglasses&limit=2')).json;
  const sku = (list?.items || list?.products || [])[0]?.sku;
  const t0 = Date.now();
  const add = await req(a, 'POST', '/api/v1/cart/items', { body: { sku, qty: 2 }, token: tok });
  const ev = await wsB.next((f) => f.type === 'cart', 3000);
  ok(add.status < 300 && ev && ev.cart.items.some((l) => l.sku === sku && l.qty === 2),
     'instances: a cart changed through A reaches the chat open on B', { status: add.status, ms: Date.now() - t0, ev });

  // and the other way round, a chat turn on B changing the cart shows on A's socket
  const wsA = await wsOpen(a, tok);
  await wsA.next((f) => f.type === 'hello' || f.type === 'session', 3000);
  wsB.sendJson({ type: 'message', text: 'empty my cart', clientMsgId: 'e1' });
  const rep = await wsB.next((f) => f.type === 'reply' || f.type === 'error', 8000);
  const evA = await wsA.next((f) => f.type === 'cart' && f.cart.items.length === 0, 3000);
  ok(rep?.type === 'reply' && evA, 'instances: a cart emptied in a chat on B updates the socket on A', { rep: rep?.text, evA });

  // an inspector on A sees turns made on B
  const admin = await makeAdmin(a, 'ops@example.com');
  const insp = await wsOpen(a, admin.accessToken);
  await insp.next((f) => f.type === 'hello' || f.type === 'session', 3000);
  insp.sendJson({ type: 'subscribe', topic: 'traces' });
  const subd = await insp.next((f) => f.type === 'subscribed', 3000);
  const chatB = await req(b, 'POST', '/api/v1/chat', { body: { text: 'show me sunglasses', sessionId: anon.sessionId }, token: tok });
  const tr = await insp.next((f) => f.type === 'trace' && f.trace?.id === chatB.json?.traceId, 3000);
  ok(subd && chatB.status === 200 && tr, 'instances: an inspector on A sees the trace of a turn made on B', { status: chatB.status, trace: chatB.json?.traceId });

  // the conversation hops: the list shown by B, "the first one" added through A
  const addA = await req(a, 'POST', '/api/v1/chat', { body: { text: 'add the first one to my cart', sessionId: anon.sessionId }, token: tok });
  const first = chatB.json?.reply?.cards?.[0]?.sku;
  const cartA = (await req(a, 'GET', '/api/v1/cart', { token: tok })).json;
  ok(first && addA.status === 200 && cartA?.items?.some((l) => l.sku === first),
     'instances: "the first one" on A is the first product B showed', { first, reply: addA.json?.reply?.text, cart: cartA?.items });
  for (const w of [wsA, wsB, insp]) w.close();

  // behind nginx (round robin over both): the same shopper's turns land on
  // both instances and the conversation holds; a socket through nginx sees
  // every cart change whichever instance made it
  if (!(await import('node:fs')).existsSync(NGINX)) {
    ok(process.env.CI !== 'true', `instances: nginx (${NGINX}) is installed`, 'apt-get install nginx-light');
  } else {
    ngx = await startNginx([a.port, b.port], [a.wsPort, b.wsPort]);
    const via = { base: ngx.base, port: ngx.port };
    const ids = new Set();
    for (let i = 0; i < 4; i++) ids.add((await req(via, 'GET', '/readyz')).json?.instance);
    ok(ids.size === 2, 'instances behind nginx: requests are spread over both instances', [...ids]);
    const s2 = (await req(via, 'POST', '/api/v1/auth/anonymous', { body: {} })).json;
    const ws = await wsOpen(via, s2.sessionToken);
    await ws.next((f) => f.type === 'hello' || f.type === 'session', 3000);
    const turns = ['do you have lipstick', 'add the first one', 'what is in my cart'];
    const out = [];
    for (const text of turns) {
      const r = await req(via, 'POST', '/api/v1/chat', { body: { text, sessionId: s2.sessionId }, token: s2.sessionToken });
      out.push(r);
      await sleep(400);   // the user bucket: 3/s
    }
    const cartEv = await ws.next((f) => f.type === 'cart' && f.cart.items.length === 1, 3000);
    const cart = (await req(via, 'GET', '/api/v1/cart', { token: s2.sessionToken })).json;
    ok(out.every((r) => r.status === 200) && cart?.items?.length === 1 && /lipstick/i.test(cart.items[0].title) &&
       /lipstick/i.test(out[2].json?.reply?.text || '') && cartEv,
       'instances behind nginx: search, "add the first one" and the cart over both instances; the socket saw the change',
       { replies: out.map((r) => `${r.status} ${r.json?.reply?.text}`), cart: cart?.items, cartEv: !!cartEv });
    // the per-user rate limit is one bucket whichever instance answers
    const burst = await Promise.all(Array.from({ length: 16 }, () =>
      req(via, 'GET', '/api/v1/cart', { token: s2.sessionToken })));
    const n429 = burst.filter((r) => r.status === 429).length;
    ok(n429 >= 16 - 8, 'instances behind nginx: 16 requests at once from one shopper, the shared bucket (6) answers most with 429', { n429 });
    ws.close();
  }
} catch (e) {
  ok(false, 'instances tests ran to the end', e.stack);
} finally {
  if (ngx) await ngx.stop();
  await stopServer(b);
  await stopServer(a);
  await redis.stop();
}
process.exit(failed() ? 1 : 0);

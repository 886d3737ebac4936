// tests/integration/gateway/concurrency.mjs — exactly once under load, on
// SQLite and with a real redis-server for the ephemeral family: 50
// concurrent identical checkouts (REST with one Idempotency-Key; chat
// over 50 WebSockets of one session with one clientMsgId) give one order,
// one stock decrement and one `order.create` audit entry; 50 concurrent
// "add 1" to one cart line end at quantity 50 (REST, and chat with
// distinct clientMsgIds), and 50 chat sends of one clientMsgId add once.
// Every test gets its own server (and its own redis-server), so that the
// order, stock and audit counts are the test's alone. Run by
// tests/integration/concurrency.sh; prints ok / not ok lines.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ok, req, startServer, stopServer, wsOpen, failed, CHECKOUT, saveCheckoutFacts } from './lib.mjs';
import { register } from './rest.mjs';
import { sql, startRedis, tools, cleanEnv, redisCommand } from './stores.mjs';

const N = 50;
const SKU = 'BEA-ESS-ESS-001'; // Essence Mascara: 99 in stock in the sample catalog, $9.99
const CONFIG = 'limits:\n  ip_rps: 100000\n  ip_burst: 100000\n  user_rps: 100000\n  user_burst: 100000\n' +
  'http:\n  max_conns_per_ip: 0\n  num_threads: 512\n';

// The shipped pipeline without its cart limit (at most 10 of one item),
// so that 50 adds can end at 50: a copy beside symlinks to everything the
// pipeline's relative paths name.
function pipelineWithoutCartLimits() {
  const dir = mkdtempSync(join(tmpdir(), 'aisle-conc-pipe-'));
  for (const n of readdirSync('pipelines')) if (n !== 'commerce.yaml') symlinkSync(resolve('pipelines', n), join(dir, n));
  // rules files are named from the project root (scripts/...)
  symlinkSync(resolve('scripts'), join(dir, 'scripts'));
  const text = readFileSync('pipelines/commerce.yaml', 'utf8');
  const cut = text.replace(/,\s*scripts\/cart_limits\.lua/, '').replace(/scripts\/cart_limits\.lua\s*,\s*/, '');
  if (cut === text) throw new Error('pipelines/commerce.yaml no longer names scripts/cart_limits.lua in `rules:`: update this test');
  writeFileSync(join(dir, 'commerce.yaml'), cut);
  return { file: join(dir, 'commerce.yaml'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const dbOf = (srv) => join(srv.dir, 'aisle.db');
const auditCount = (srv, action) => Number(sql(dbOf(srv), `SELECT count(*) AS n FROM audit WHERE action = '${action}'`)[0].n);
const stockOf = async (srv, sku) => (await req(srv, 'GET', `/api/v1/products/${sku}`)).json?.stock;
const histogram = (xs) => xs.reduce((h, x) => ((h[x] = (h[x] || 0) + 1), h), {});

// n sockets of one session or user; resolves when every one said hello
async function sockets(srv, token, n) {
  const all = await Promise.all(Array.from({ length: n }, () => wsOpen(srv, token)));
  const hellos = await Promise.all(all.map((w) => w.next((f) => f.type === 'hello' || f.type === 'error', 10000)));
  const bad = hellos.filter((h) => !h || h.type !== 'hello');
  if (bad.length) throw new Error(`${bad.length} of ${n} sockets got no hello: ${JSON.stringify(bad[0])}`);
  return all;
}

async function say(ws, text, id, ms = 10000) {
  ws.sendJson({ type: 'message', text, clientMsgId: id });
  return ws.next((f) => (f.type === 'reply' || f.type === 'error') && f.clientMsgId === id, ms);
}

// all sockets send at once; the answers in socket order (null: none)
async function burst(all, text, idOf, ms = 30000) {
  const waits = all.map((w, i) => w.next((f) => (f.type === 'reply' || f.type === 'error') && f.clientMsgId === idOf(i), ms));
  all.forEach((w, i) => w.sendJson({ type: 'message', text, clientMsgId: idOf(i) }));
  return Promise.all(waits);
}

const frameKind = (f) => (!f ? 'none' : f.type === 'error' ? `error ${f.status} ${f.code}` : f.replayed ? 'reply (replayed)' : 'reply');

// a signed-in user with `qty` of SKU in the cart
async function buyer(srv, email, qty) {
  const r = await register(srv, email);
  if (r.status !== 201) throw new Error(`register ${email}: ${r.status} ${r.text}`);
  const tok = r.json.accessToken;
  await saveCheckoutFacts(srv, tok);   // the chat orders only with both
  const c = await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty } });
  if (c.status !== 200) throw new Error(`cart add: ${c.status} ${c.text}`);
  return tok;
}

async function ordersOf(srv, tok) {
  const r = await req(srv, 'GET', '/api/v1/orders', { token: tok });
  return r.status === 200 ? r.json?.items ?? [] : null;
}

const tests = [
  ['50 concurrent POST /orders with one Idempotency-Key', 'pipelines/commerce.yaml', async (srv, tag) => {
    const tok = await buyer(srv, 'rest-buyer@example.com', 2);
    const before = await stockOf(srv, SKU);
    const key = `conc-${Date.now()}`;
    const rs = await Promise.all(Array.from({ length: N }, () =>
      req(srv, 'POST', '/api/v1/orders', { token: tok, body: CHECKOUT, headers: { 'Idempotency-Key': key } })));
    const kinds = rs.map((r) => `${r.status}${r.headers.get('idempotent-replayed') === 'true' ? ' replayed' : ''}`);
    const h = histogram(kinds);
    ok(h['201'] === 1 && h['200 replayed'] === N - 1, `${tag} one key: exactly one 201 and ${N - 1} x 200 with Idempotent-Replayed: true`,
      { statuses: h, firstProblem: rs.find((r) => r.status >= 400)?.json });
    const ids = new Set(rs.filter((r) => r.status < 300).map((r) => r.json?.id));
    ok(ids.size === 1, `${tag} one key: every answer names the same order`, [...ids]);
    const orders = await ordersOf(srv, tok);
    ok(orders?.length === 1, `${tag} one key: exactly one order (GET /orders)`, orders?.map((o) => ({ id: o.id, key: o.idempotencyKey })));
    const after = await stockOf(srv, SKU);
    ok(before - after === 2, `${tag} one key: the stock went down once (by the order's 2)`, { before, after });
    const n = auditCount(srv, 'order.create');
    ok(n === 1, `${tag} one key: exactly one order.create audit entry`, { auditEntries: n });
  }],

  ['50 concurrent chat "yes" with one clientMsgId after "checkout"', 'pipelines/commerce.yaml', async (srv, tag) => {
    const tok = await buyer(srv, 'chat-buyer@example.com', 2);
    const before = await stockOf(srv, SKU);
    const [first] = await sockets(srv, tok, 1);
    const co = await say(first, 'checkout', 'co-1');
    ok(co?.type === 'reply' && /place the order/i.test(co.text ?? '') && (co.actions ?? []).length === 0,
      `${tag} chat checkout asks for a confirmation first`, co);
    const all = await sockets(srv, tok, N);
    const rs = await burst(all, 'yes', () => 'yes-1');
    const h = histogram(rs.map(frameKind));
    ok(h.reply === 1 && h['reply (replayed)'] === N - 1, `${tag} one clientMsgId: every socket gets the answer, ${N - 1} of them replayed`, h);
    const placed = rs.filter((f) => f?.type === 'reply' && /Order #\d+ is placed/.test(f.text ?? ''));
    ok(placed.length === N, `${tag} one clientMsgId: every answer says the order is placed`, rs.find((f) => !placed.includes(f)));
    const orders = await ordersOf(srv, tok);
    ok(orders?.length === 1, `${tag} one clientMsgId: exactly one order`, orders?.map((o) => ({ id: o.id, key: o.idempotencyKey })));
    const after = await stockOf(srv, SKU);
    ok(before - after === 2, `${tag} one clientMsgId: the stock went down once`, { before, after });
    const n = auditCount(srv, 'order.create');
    ok(n === 1, `${tag} one clientMsgId: exactly one order.create audit entry`, { auditEntries: n });
    for (const w of [first, ...all]) w.close();
  }],

  ['a cart changed in another tab between "checkout" and "yes"', 'pipelines/commerce.yaml', async (srv, tag) => {
    // "yes" confirms the cart the question showed, not whatever it is now
    const tok = await buyer(srv, 'tab-buyer@example.com', 1);
    const before = await stockOf(srv, SKU);
    const [ws] = await sockets(srv, tok, 1);
    const co = await say(ws, 'ready to pay', 'tab-1');
    const add = await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty: 1 } });
    const yes = await say(ws, 'yes please', 'tab-2');
    const orders = await ordersOf(srv, tok);
    ok(/place the order/i.test(co?.text ?? '') && add.status < 300 && orders?.length === 0 &&
       /changed/i.test(yes?.text ?? '') && (await stockOf(srv, SKU)) === before,
      `${tag} the changed cart is not ordered: the shopper is told it changed, no stock taken`,
      { ask: co?.text, add: add.status, yes: yes?.text, orders: orders?.length });
    const co2 = await say(ws, 'checkout', 'tab-3');
    const yes2 = await say(ws, 'yes', 'tab-4');
    const orders2 = await ordersOf(srv, tok);
    ok(/place the order/i.test(co2?.text ?? '') && /Order #\d+ is placed/.test(yes2?.text ?? '') && orders2?.length === 1 &&
       before - (await stockOf(srv, SKU)) === 2,
      `${tag} asked again on the cart as it is, "yes" orders both units`, { ask: co2?.text, yes: yes2?.text });
    ws.close();
  }],

  ['50 concurrent chat "yes" with distinct clientMsgIds after one "checkout"', 'pipelines/commerce.yaml', async (srv, tag) => {
    // a "yes" answers only the question just asked: one confirmation, one order
    const tok = await buyer(srv, 'yes-buyer@example.com', 1);
    const before = await stockOf(srv, SKU);
    const [first] = await sockets(srv, tok, 1);
    await say(first, 'checkout', 'co-1');
    const all = await sockets(srv, tok, N);
    const rs = await burst(all, 'yes', (i) => `yes-${i}`);
    const orders = await ordersOf(srv, tok);
    ok(orders?.length === 1, `${tag} distinct clientMsgIds: one confirmation places one order`,
      { orders: orders?.length, answers: histogram(rs.map(frameKind)) });
    const after = await stockOf(srv, SKU);
    ok(before - after === 1, `${tag} distinct clientMsgIds: the stock went down once`, { before, after });
    const n = auditCount(srv, 'order.create');
    ok(n === 1, `${tag} distinct clientMsgIds: exactly one order.create audit entry`, { auditEntries: n });
    for (const w of [first, ...all]) w.close();
  }],

  ['50 concurrent POST /cart/items {qty: 1} to one line', 'nolimits', async (srv, tag) => {
    const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    const rs = await Promise.all(Array.from({ length: N }, () =>
      req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: { sku: SKU, qty: 1 } })));
    const h = histogram(rs.map((r) => r.status));
    ok(h['200'] === N, `${tag} REST cart: all ${N} adds answered 200`, { statuses: h, firstProblem: rs.find((r) => r.status !== 200)?.json });
    const cart = (await req(srv, 'GET', '/api/v1/cart', { token: anon })).json;
    const line = cart?.items?.find((l) => l.sku === SKU);
    ok(line?.qty === N && cart.count === N, `${tag} REST cart: ${N} concurrent adds of 1 end at quantity ${N}`, { qty: line?.qty, count: cart?.count });
    const n = auditCount(srv, 'cart.add');
    ok(n === N, `${tag} REST cart: one cart.add audit entry per add`, { auditEntries: n });
  }],

  ['50 concurrent chat "add 1" with distinct clientMsgIds after a search', 'nolimits', async (srv, tag) => {
    const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    const [first] = await sockets(srv, anon, 1);
    const s = await say(first, 'show me mascara', 'search-1');
    if (!ok(s?.type === 'reply' && s.cards?.[0]?.sku === SKU, `${tag} chat cart: the search shows ${SKU} first`, s)) return;
    const all = await sockets(srv, anon, N);
    const rs = await burst(all, 'add 1 of the first one', (i) => `add-${i}`);
    const done = rs.filter((f) => f?.type === 'reply' && (f.actions ?? []).some((a) => a.type === 'cart.add' && a.status === 'done' && a.sku === SKU));
    ok(done.length === N, `${tag} chat cart: every "add 1" answered with a done cart.add`,
      { answers: histogram(rs.map(frameKind)), notDone: rs.find((f) => !done.includes(f)) });
    const cart = (await req(srv, 'GET', '/api/v1/cart', { token: anon })).json;
    const line = cart?.items?.find((l) => l.sku === SKU);
    ok(line?.qty === N, `${tag} chat cart: ${N} concurrent "add 1" end at quantity ${N}`, { qty: line?.qty, count: cart?.count });
    const n = auditCount(srv, 'cart.add');
    ok(n === N, `${tag} chat cart: one cart.add audit entry per add (not two)`, { auditEntries: n });
    for (const w of [first, ...all]) w.close();
  }],

  ['50 concurrent chat "add 1" with one clientMsgId', 'nolimits', async (srv, tag) => {
    const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    const [first] = await sockets(srv, anon, 1);
    await say(first, 'show me mascara', 'search-1');
    const all = await sockets(srv, anon, N);
    const rs = await burst(all, 'add 1 of the first one', () => 'add-once');
    const h = histogram(rs.map(frameKind));
    ok(h.reply === 1 && h['reply (replayed)'] === N - 1, `${tag} chat cart, one clientMsgId: one turn ran, ${N - 1} answers replayed`, h);
    const cart = (await req(srv, 'GET', '/api/v1/cart', { token: anon })).json;
    const line = cart?.items?.find((l) => l.sku === SKU);
    ok(line?.qty === 1, `${tag} chat cart, one clientMsgId: added once (quantity 1)`, { qty: line?.qty });
    const n = auditCount(srv, 'cart.add');
    ok(n === 1, `${tag} chat cart, one clientMsgId: exactly one cart.add audit entry`, { auditEntries: n });
    for (const w of [first, ...all]) w.close();
  }],
];

async function run() {
  cleanEnv();
  const miss = tools({ redis: true });
  if (miss.length) {
    ok(false, `concurrency tests have their tools (missing: ${miss.join(', ')})`);
    return;
  }
  const nolimits = pipelineWithoutCartLimits();
  const stops = [];
  try {
    for (const backend of ['sqlite', 'redis']) {
      const tag = `[${backend}]`;
      for (const [name, pipeline, fn] of tests) {
        let srv;
        let redis;
        try {
          const env = {};
          const args = [];
          if (backend === 'redis') {
            redis = await startRedis();
            env.AISLE_REDIS_URL = redis.url;
            args.push('--set', `store.redis_url=${redis.url}`);
          }
          srv = await startServer({ yaml: CONFIG, pipeline: pipeline === 'nolimits' ? nolimits.file : pipeline, args, env });
          const ready = (await req(srv, 'GET', '/readyz')).json;
          const eph = ready?.stores?.ephemeral;
          if (!ok(eph === backend, `${tag} ${name}: /readyz says the ephemeral store is ${backend}`, ready)) continue;
          await fn(srv, tag);
          if (redis) {
            // sessions and idempotency records went to Redis, not only /readyz's word for it
            const n = Number((await redisCommand(redis.port, 'DBSIZE'))?.slice(1));
            ok(n > 0, `${tag} ${name}: the server kept its ephemeral data in redis (DBSIZE ${n})`);
          }
          ok(!srv.exited, `${tag} ${name}: the server survived`, srv.exited && srv.err.slice(-800));
        } catch (e) {
          ok(false, `${tag} ${name}: ran to the end`, e.stack);
        } finally {
          // stopping drains for a while: let it happen beside the next test
          const s = srv;
          const r = redis;
          stops.push((async () => { if (s) await stopServer(s).catch(() => {}); if (r) await r.stop().catch(() => {}); })());
        }
      }
    }
  } finally {
    await Promise.all(stops);
    nolimits.cleanup();
  }
}

export { run as concurrencyTests };

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
  console.log(`# concurrency: ${failed()} failed`);
  process.exit(0);
}

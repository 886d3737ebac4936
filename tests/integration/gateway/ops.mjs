// tests/integration/gateway/ops.mjs — the operator's side: rate limits
// (429 + Retry-After), token expiry, the OpenAPI document (valid, and
// complete against the router and the problem types), refusal to start
// with a weak secret, hot reload, graceful shutdown with a turn in flight,
// and the commerce conversation from search to order.
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ok, req, isProblem, startServer, stopServer, wsOpen, metric, routes, sleep, tmp, AISLE, CHECKOUT, saveCheckoutFacts } from './lib.mjs';
import { register } from './rest.mjs';

export async function limitsTests() {
  const srv = await startServer({ yaml: 'auth:\n  access_ttl_s: 1\nlimits:\n  ip_rps: 2\n  ip_burst: 10\n  user_rps: 100\n  user_burst: 100\n' });
  try {
    let r = await register(srv, 'carol@example.com');
    const carol = r.json;
    await sleep(2100);
    r = await req(srv, 'GET', '/api/v1/me', { token: carol.accessToken });
    ok(isProblem(r, 401, 'token-expired'), 'access token expires (short TTL from the config)', r.text);
    r = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: carol.refreshToken } });
    ok(r.status === 200, 'an expired access token is renewed with the refresh token', r.text);
    // the renewed token lives 1 s too: on a loaded machine the next
    // request can come after that, so a token that expired on the way is
    // renewed again (with the rotated refresh token), at most three times
    let refresh = r.json?.refreshToken ?? carol.refreshToken, access = r.json?.accessToken;
    for (let i = 0; ; i++) {
      r = await req(srv, 'GET', '/api/v1/me', { token: access });
      if (r.status !== 401 || !isProblem(r, 401, 'token-expired') || i === 2) break;
      const again = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: refresh } });
      if (again.status !== 200) break;
      refresh = again.json?.refreshToken ?? refresh;
      access = again.json?.accessToken;
    }
    ok(r.status === 200, 'renewed access token works', r.text);
    const before = metric((await req(srv, 'GET', '/metrics')).text, 'aisle_ratelimit_rejections_total', 'scope="ip"');
    const burst = await Promise.all(Array.from({ length: 30 }, () => req(srv, 'GET', '/api/v1/products?pageSize=1')));
    const limited = burst.filter((x) => x.status === 429);
    ok(limited.length > 0 && isProblem(limited[0], 429, 'rate-limited') && Number(limited[0].headers.get('retry-after')) >= 1,
       `burst of 30: ${limited.length} answered 429 with Retry-After`, burst.map((x) => x.status).join(','));
    const after = metric((await req(srv, 'GET', '/metrics')).text, 'aisle_ratelimit_rejections_total', 'scope="ip"');
    ok(after - before === limited.length, 'metrics: rate-limit rejections counted', { before, after, n: limited.length });
    r = await req(srv, 'GET', '/healthz');
    ok(r.status === 200, 'health checks are never rate limited');
  } finally { await stopServer(srv); }
}

export async function openapiTests() {
  const doc = JSON.parse(readFileSync('gateway/openapi.json', 'utf8'));
  const v = new Validator();
  const res = await v.validate(doc);
  ok(res.valid, 'openapi.json is a valid OpenAPI 3.1 document', res.errors);
  ok(doc.openapi?.startsWith('3.1'), 'openapi version 3.1');
  const table = routes();
  const missing = table.filter((r) => !doc.paths[r.path] || !doc.paths[r.path][r.method.toLowerCase()]);
  ok(missing.length === 0, `every route the server answers is in the document (${table.length} routes)`, missing);
  const known = new Set(table.map((r) => `${r.method} ${r.path}`));
  const extra = [];
  for (const [p, item] of Object.entries(doc.paths))
    for (const m of Object.keys(item))
      if (['get', 'post', 'put', 'patch', 'delete'].includes(m) && !known.has(`${m.toUpperCase()} ${p}`)) extra.push(`${m} ${p}`);
  ok(extra.length === 0, 'the document lists no route the server lacks', extra);
  // every problem type the C code can send is documented
  const slugs = new Set();
  for (const f of readdirSync('gateway').filter((f) => f.endsWith('.c'))) {
    const src = readFileSync(join('gateway', f), 'utf8');
    for (const m of src.matchAll(/(?:gw__problem(?:_retry|_field)?\(r, \d+|problem_obj\(\d+|send_error\(c, \d+|gw__chan_error\([a-z>\-]+, \d+), "([a-z0-9-]+)"/g)) slugs.add(m[1]);
  }
  const text = JSON.stringify(doc);
  const undocumented = [...slugs].filter((s) => !text.includes(`urn:aisle:problem:${s}`));
  ok(slugs.size > 10 && undocumented.length === 0, `every problem type (${slugs.size}) is documented`, undocumented);
  const noErr = [];
  for (const [p, item] of Object.entries(doc.paths))
    for (const [m, op] of Object.entries(item))
      if (op.responses && p.startsWith('/api/') && !Object.keys(op.responses).some((c) => c.startsWith('4'))) noErr.push(`${m} ${p}`);
  ok(noErr.length === 0, 'every API operation documents its errors', noErr);
  const srv = await startServer({ seed: false });
  try {
    const r = await req(srv, 'GET', '/openapi.json');
    ok(r.status === 200 && r.json?.openapi === doc.openapi && JSON.stringify(r.json) === JSON.stringify(doc), 'GET /openapi.json serves the document');
  } finally { await stopServer(srv); }
}

export function refusalTests() {
  const dir = tmp();
  const run = (env, extra = []) => spawnSync(AISLE, ['serve', '--listen', '127.0.0.1:1', '--db', join(dir, 'a.db'), '--pipeline', 'examples/faq/faq.yaml', ...extra],
    { env: { ...process.env, AISLE_JWT_SECRET: '', AISLE_DEV: '', ...env }, encoding: 'utf8', timeout: 5000 });
  let r = run({});
  ok(r.status === 1 && /AISLE_JWT_SECRET is not set/.test(r.stderr), 'refuses to start without AISLE_JWT_SECRET', r.stderr);
  r = run({ AISLE_JWT_SECRET: 'changeme' });
  ok(r.status === 1 && /well-known default/.test(r.stderr), 'refuses a default secret', r.stderr);
  r = run({ AISLE_JWT_SECRET: 'short' });
  ok(r.status === 1 && /shorter than 32/.test(r.stderr), 'refuses a short secret', r.stderr);
  r = run({}, ['--dev', '--check']);
  ok(r.status === 0, '--dev starts without a secret (checked with --check)', r.stderr);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'http:\n  max_body_byte: 10\n');
  r = spawnSync(AISLE, ['serve', '--config', bad, '--check'], { encoding: 'utf8', env: { ...process.env, AISLE_DEV: '1' } });
  ok(r.status === 2 && /bad\.yaml:2:3: unknown setting "http\.max_body_byte"/.test(r.stderr), 'an unknown config key is an error with FILE:LINE:COL', r.stderr);
}

const pipeline = (word) => `pipeline: reload-test
version: 1
intents:
  greeting: [hi, hello, good morning, hey there]
  bye: [bye, goodbye, see you]
stages:
  - { id: nlu, type: classifier, threshold: 0.1 }
  - { id: reply, type: formatter, templates: { default: "version ${word}" } }
`;

export async function reloadTests() {
  const dir = tmp();
  const file = join(dir, 'p.yaml');
  writeFileSync(file, pipeline('one'));
  const srv = await startServer({ pipeline: file, args: ['--dev'], seed: false, env: { AISLE_JWT_SECRET: '' } });
  try {
    const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    const say = async () => (await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'hello' } })).json?.reply?.text;
    ok(await say() === 'version one', 'serves the pipeline from a temp folder');
    writeFileSync(file, pipeline('two'));
    const t0 = Date.now();
    let got;
    while (Date.now() - t0 < 3000 && (got = await say()) !== 'version two') await sleep(25);
    const ms = Date.now() - t0;
    ok(got === 'version two' && ms < 1000, `a saved change is live in ${ms} ms (< 1 s)`, got);
    writeFileSync(file, pipeline('three').replace('type: formatter', 'type: formater'));
    let p;
    const t1 = Date.now();
    while (Date.now() - t1 < 3000) {
      p = (await req(srv, 'GET', '/api/v1/pipelines')).json;
      if (p?.reloads?.length >= 3) break;
      await sleep(25);
    }
    const last = p?.reloads?.[p.reloads.length - 1];
    const d = (p?.diagnostics || []).find((x) => x.severity === 'error');
    ok(last && last.ok === false && d && new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:\\d+`).test(d.where) && /formater/.test(d.message),
       'a broken file is reported in GET /pipelines with FILE:LINE:COL', { last, d });
    ok(await say() === 'version two', 'the previous version keeps serving after a broken save');
    ok(/"event":"pipeline_rejected".*"where":"[^"]*p\.yaml:8:/.test(srv.err), 'the rejection is logged with FILE:LINE:COL');
    writeFileSync(file, pipeline('four'));
    const t2 = Date.now();
    while (Date.now() - t2 < 3000 && (got = await say()) !== 'version four') await sleep(25);
    ok(got === 'version four', 'a fixed file loads again');
  } finally { await stopServer(srv); }
}

export async function shutdownTests() {
  const srv = await startServer({ seed: false, env: { AISLE_TEST_HOOKS: '1', AISLE_TEST_TURN_DELAY_MS: '1200' } });
  const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
  const ws = await wsOpen(srv, anon);
  await ws.next((f) => f.type === 'hello');
  const rest = req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'how long does shipping take?' } });
  ws.sendJson({ type: 'message', text: 'what is your return policy', clientMsgId: 'inflight' });
  // wait until both turns are running (a fixed sleep races a loaded machine)
  for (let i = 0; i < 100; i++) {
    const m = await req(srv, 'GET', '/metrics');
    if (metric(m.text, 'aisle_turns_in_flight') >= 2) break;
    await sleep(20);
  }
  const t0 = Date.now();
  srv.proc.kill('SIGTERM');
  const r = await rest;
  ok(r.status === 200 && /shipping/i.test(r.json?.reply?.text), 'SIGTERM: a REST turn in flight still gets its reply', r.text);
  const f = await ws.next((x) => x.type === 'reply' || x.type === 'error', 5000);
  ok(f && f.type === 'reply' && f.clientMsgId === 'inflight', 'SIGTERM: a WebSocket turn in flight still gets its reply', f);
  const c = await ws.closed(5000);
  ok(c && c.code === 1001, 'SIGTERM: WebSockets are closed with 1001 (going away)', c);
  const ex = await srv.exit;
  ok(ex.code === 0 && Date.now() - t0 < 5000, `process exits 0 after draining (${Date.now() - t0} ms)`, ex);
  await stopServer(srv);
}

export async function commerceTests() {
  if (!existsSync('pipelines/commerce.yaml')) {
    ok(false, 'chat-driven order (search -> cart -> login -> order) over WebSocket', 'pipelines/commerce.yaml is missing: the shipped pipeline is what this checks');
    return;
  }
  const srv = await startServer({ pipeline: 'pipelines/commerce.yaml' });
  try {
    const ws = await wsOpen(srv);
    const sess = await ws.next((f) => f.type === 'session');
    const say = async (text, id) => {
      ws.sendJson({ type: 'message', text, clientMsgId: id });
      return ws.next((f) => (f.type === 'reply' || f.type === 'error') && f.clientMsgId === id, 8000);
    };
    const a = await say('show me mascara', 's1');
    ok(a && a.type === 'reply' && a.cards.length > 0 && a.cards[0].sku && 'finalPrice' in a.cards[0], 'chat search returns product cards', a);
    const b = await say('add the first one to my cart', 's2');
    ok(b && b.cart && b.cart.count >= 1, 'chat adds to the cart', b);
    const ev = await ws.next((f) => f.type === 'cart', 2000);
    ok(ev && ev.cart.count >= 1, 'a chat cart change pushes a {type:"cart"} frame', ev);
    const c = await say('checkout', 's3');
    ok(c && /log ?in|sign ?in|account/i.test(c.text), 'checkout while anonymous asks to log in', c?.text);
    const u = (await register(srv, 'dave@example.com', sess.sessionToken)).json;
    await saveCheckoutFacts(srv, u.accessToken);
    ws.close();
    const ws2 = await wsOpen(srv, u.accessToken);
    await ws2.next((f) => f.type === 'hello');
    const say2 = async (text, id) => {
      ws2.sendJson({ type: 'message', text, clientMsgId: id });
      return ws2.next((f) => (f.type === 'reply' || f.type === 'error') && f.clientMsgId === id, 8000);
    };
    let d = await say2('checkout', 's4');
    let orders = (await req(srv, 'GET', '/api/v1/orders', { token: u.accessToken })).json;
    if (!orders?.items?.length) {
      d = await say2('yes, place the order', 's5');
      orders = (await req(srv, 'GET', '/api/v1/orders', { token: u.accessToken })).json;
    }
    ok(orders?.items?.length === 1 && orders.items[0].status === 'placed', 'chat-driven order placed after login (WebSocket search -> cart -> order)', { reply: d?.text, orders });
    ws2.close();

    // REST sells at the chat's prices, under the same rules
    const tok = u.accessToken;
    const shoe = (await req(srv, 'GET', '/api/v1/products?category=mens-shoes&pageSize=1', { token: tok })).json?.items?.[0];
    ok(shoe && shoe.finalPrice < shoe.price && shoe.appliedRules?.[0]?.id === 'mens-shoes-10',
      'REST catalog prices through the rules (finalPrice, appliedRules)', shoe);
    let cart = (await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: shoe.sku, qty: 2 } })).json;
    const line = cart?.items?.find((l) => l.sku === shoe.sku);
    ok(line && Math.abs(line.finalPrice - shoe.finalPrice) < 0.005 && line.appliedRules?.[0]?.id === 'mens-shoes-10' &&
       Math.abs(cart.total - 2 * shoe.finalPrice) < 0.011, 'REST cart is priced like the chat', cart);
    const veto = await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: shoe.sku, qty: 9 } });
    ok(isProblem(veto, 409, 'rule-veto') && /at most 10/.test(veto.json.detail), 'REST cart change refused by a cart limit rule (409 rule-veto)', veto.json);
    const ord = await req(srv, 'POST', '/api/v1/orders', { token: tok, body: CHECKOUT, headers: { 'Idempotency-Key': 'rest-priced-1' } });
    ok(ord.status === 201 && Math.abs(ord.json.total - cart.total - (ord.json.delivery?.price ?? 0)) < 0.005 &&
       ord.json.lines.some((l) => l.appliedRules?.some((a) => a.id === 'mens-shoes-10')),
       'REST order charges the priced total and keeps the rule ids', ord.json);
  } finally { await stopServer(srv); }
}

// tests/integration/gateway/conform.mjs — what the server sends, checked
// against gateway/openapi.json (the document the UI's TypeScript types are
// generated from): each JSON answer against the schema its operation
// declares for that status, each WebSocket frame against
// components.schemas.WsServerFrame. conformTests() drives the endpoints
// and frames the page uses on a server with the shipped commerce pipeline
// (rule-priced cards, promotion discounts, the real checkout), so that a
// field the server sends and the document lacks, or one the document
// requires and the server leaves out, fails here and not in the browser.
import { readFileSync } from 'node:fs';
import { ok, req, startServer, stopServer, wsOpen, makeAdmin, saveCheckoutFacts, CHECKOUT } from './lib.mjs';

let ajv = null;
let doc = null;
// the paths of the document as regular expressions, /api/v1/orders/{id} -> ^/api/v1/orders/[^/]+$
let templates = [];

async function setup() {
  if (ajv) return true;
  let Ajv2020;
  try {
    Ajv2020 = (await import('ajv/dist/2020.js')).default;
  } catch (e) {
    ok(false, 'ajv is installed (npm ci)', String(e));
    return false;
  }
  doc = JSON.parse(readFileSync('gateway/openapi.json', 'utf8'));
  // the whole document as one schema, so that "#/components/..." resolves;
  // OpenAPI's own keywords (discriminator, example) are not JSON Schema's
  ajv = new Ajv2020({ strict: false, allErrors: true, discriminator: false });
  ajv.addKeyword('discriminator');
  ajv.addKeyword('example');
  ajv.addSchema({ ...doc, $id: 'openapi.json' });
  templates = Object.keys(doc.paths).map((p) => ({
    p, re: new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
  }));
  return true;
}

const pointer = (...parts) => 'openapi.json#/' + parts.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/* the errors of `value` against the schema at `ref` ('' when it conforms) */
function check(ref, value) {
  const v = ajv.getSchema(ref);
  if (!v) return `no schema at ${ref}`;
  if (v(value)) return '';
  return v.errors.slice(0, 6).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && Object.keys(e.params).length ? ' ' + JSON.stringify(e.params) : ''}`).join('; ');
}

/* the schema pointer for METHOD PATH answering STATUS, or null when the
 * document declares no JSON body for it */
function responseRef(method, path, status) {
  const bare = path.split('?')[0];
  const t = templates.find((x) => x.re.test(bare) && !x.p.includes('{')) ?? templates.find((x) => x.re.test(bare));
  if (!t) return { error: `${method} ${bare} is not in the document` };
  const op = doc.paths[t.p][method.toLowerCase()];
  if (!op) return { error: `${method} ${t.p} is not in the document` };
  let resp = op.responses?.[String(status)] ?? op.responses?.[`${String(status)[0]}XX`] ?? op.responses?.default;
  if (!resp) return { error: `${method} ${t.p} documents no ${status} answer` };
  let base = ['paths', t.p, method.toLowerCase(), 'responses', String(status)];
  if (resp.$ref) {
    base = resp.$ref.replace(/^#\//, '').split('/');
    resp = base.reduce((o, k) => o?.[k], doc);
  }
  const types = Object.keys(resp?.content ?? {});
  const type = types.find((x) => /json/.test(x));
  if (!type) return { ref: null };
  return { ref: pointer(...base, 'content', type, 'schema'), where: `${method} ${t.p} ${status}` };
}

/* A request through lib's req(), its answer checked against the document;
 * the mismatches gather in `bad`. */
export function conformingReq(bad) {
  return async (srv, method, path, opts) => {
    const r = await req(srv, method, path, opts);
    const { ref, where, error } = responseRef(method, path, r.status);
    if (error) bad.push(error);
    else if (ref && r.json !== null) {
      const e = check(ref, r.json);
      if (e) bad.push(`${where}: ${e}`);
    }
    return r;
  };
}

export function frameErrors(frame) {
  return check(pointer('components', 'schemas', 'WsServerFrame'), frame);
}

export async function conformTests() {
  if (!(await setup())) return;
  const srv = await startServer({
    pipeline: 'pipelines/commerce.yaml',
    yaml: 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n',
  });
  const bad = [];
  const q = conformingReq(bad);
  let checked = 0;
  const call = async (...a) => { checked++; return q(srv, ...a); };
  try {
    // the catalog the catalog and product pages read
    let r = await call('GET', '/api/v1/products?q=laptop&pageSize=5');
    const sku = r.json.items[0].sku;
    await call('GET', '/api/v1/products?category=beauty&sort=price-asc&pageSize=3');
    await call('GET', '/api/v1/products?q=laptpo');
    await call('GET', `/api/v1/products/${sku}`);
    await call('GET', '/api/v1/products/NO-SUCH');
    // an anonymous shopper's cart, then the account (refresh token in the body and as the cookie)
    r = await call('POST', '/api/v1/auth/anonymous');
    const anon = r.json.sessionToken;
    await call('GET', '/api/v1/cart', { token: anon });
    await call('POST', '/api/v1/cart/items', { token: anon, body: { sku, qty: 2 } });
    await call('PATCH', `/api/v1/cart/items/${sku}`, { token: anon, body: { qty: 1 } });
    r = await call('POST', '/api/v1/auth/register', { token: anon, body: { email: 'conform@example.com', password: 'correct horse battery', name: 'C' } });
    let token = r.json.accessToken;
    r = await call('POST', '/api/v1/auth/refresh', { body: { refreshToken: r.json.refreshToken } });
    r = await call('POST', '/api/v1/auth/login', { body: { email: 'conform@example.com', password: 'correct horse battery', refreshCookie: true } });
    token = r.json.accessToken;
    await call('GET', '/api/v1/me', { token });
    // a promotion code and a rule discount in the cart
    await call('POST', '/api/v1/cart/promotions', { token, body: { code: 'SAVE10' } });
    await call('POST', '/api/v1/cart/items', { token, body: { sku, qty: 1 } });
    await call('GET', '/api/v1/cart', { token });
    // the checkout page
    await call('GET', '/api/v1/me/address', { token });
    await call('GET', '/api/v1/me/payment-method', { token });
    await call('GET', '/api/v1/cart/delivery-options', { token });
    await call('PUT', '/api/v1/me/address', { token, body: CHECKOUT.address });
    r = await call('POST', '/api/v1/orders', { token, body: { ...CHECKOUT, deliveryOption: 'express', savePayment: true }, headers: { 'Idempotency-Key': 'conform-1' } });
    const id = r.json?.id;
    await call('GET', '/api/v1/me/payment-method', { token });
    await call('GET', '/api/v1/orders', { token });
    await call('GET', `/api/v1/orders/${id}`, { token });
    await call('POST', `/api/v1/orders/${id}/cancel`, { token });
    await call('POST', '/api/v1/orders', { token, body: { payment: { cardNumber: '4000 0000 0000 0002', expiry: '12/34', cvc: '123' } }, headers: { 'Idempotency-Key': 'conform-2' } });
    await call('DELETE', `/api/v1/cart/items/${sku}`, { token });
    // the chat over REST: a search, a cart change, a checkout that needs the saved card
    for (const text of ['show me laptops under 1500', 'add the first one to my cart', 'checkout', 'yes', 'show my orders'])
      await call('POST', '/api/v1/chat', { token, body: { text } });
    // the inspector (an admin)
    const admin = await makeAdmin(srv, 'conform-admin@example.com');
    await call('GET', '/api/v1/pipelines', { token: admin.accessToken });
    r = await call('GET', '/api/v1/traces?limit=20', { token: admin.accessToken });
    if (r.json?.items?.[0]) await call('GET', `/api/v1/traces/${r.json.items[0].id}`, { token: admin.accessToken });
    ok(bad.length === 0, `${checked} answers of the page's endpoints conform to openapi.json`, bad);

    // the WebSocket frames: session, hello, subscribed, trace, reply, cart, pong, error
    // every frame as it arrives (next() takes the frames it waits for off the queue)
    const frames = [];
    const keep = (ws) => { frames.push(...ws.frames); ws.on('message', (d) => { try { frames.push(JSON.parse(d.toString())); } catch { frames.push({ raw: d.toString() }); } }); return ws; };
    const ws1 = keep(await wsOpen(srv, null));
    ws1.sendJson({ type: 'message', text: 'show me laptops', clientMsgId: 'conform-a' });
    await ws1.next((f) => f.type === 'reply');
    ws1.sendJson({ type: 'message', clientMsgId: 'conform-b' });
    await ws1.next((f) => f.type === 'error');
    ws1.close();
    const ws2 = keep(await wsOpen(srv, admin.accessToken));
    ws2.sendJson({ type: 'subscribe', topic: 'traces' });
    await ws2.next((f) => f.type === 'subscribed');
    ws2.sendJson({ type: 'message', text: 'show me mascara', clientMsgId: 'conform-c' });
    await ws2.next((f) => f.type === 'reply');
    // a change made elsewhere (the cart drawer's REST call) reaches the page as a cart frame
    await req(srv, 'POST', '/api/v1/cart/items', { token: admin.accessToken, body: { sku, qty: 1 } });
    await ws2.next((f) => f.type === 'cart');
    ws2.sendJson({ type: 'message', text: 'show me mascara', clientMsgId: 'conform-c' });
    await ws2.next((f) => f.type === 'reply' && f.replayed);
    ws2.sendJson({ type: 'ping', id: 7 });
    await ws2.next((f) => f.type === 'pong');
    ws2.sendJson({ type: 'unsubscribe', topic: 'traces' });
    await ws2.next((f) => f.type === 'unsubscribed', 1000);
    ws2.close();
    const types = new Set(frames.map((f) => f.type));
    const wrong = frames.map((f) => [f.type, frameErrors(f)]).filter(([, e]) => e).map(([t, e]) => `${t}: ${e}`);
    ok(wrong.length === 0 && ['session', 'hello', 'reply', 'error', 'subscribed', 'trace', 'pong', 'cart'].every((t) => types.has(t)),
       `${frames.length} WebSocket frames (${[...types].sort().join(', ')}) conform to WsServerFrame`, wrong);
  } finally { await stopServer(srv); }
}

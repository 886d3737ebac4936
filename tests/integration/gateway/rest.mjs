// tests/integration/gateway/rest.mjs — the REST surface on a real server:
// catalog, anonymous cart, accounts, cart merge on login, orders with
// idempotency keys, ownership (404), forged tokens, refresh rotation,
// admin writes, chat, traces, pipelines, malformed input, static files.
import { ok, req, isProblem, jwt, jwtPayload, SECRET, makeAdmin, CHECKOUT } from './lib.mjs';

export async function register(srv, email, anonToken) {
  const r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email, password: 'correct horse battery', name: 'T' }, token: anonToken });
  return r;
}

export async function restTests(srv) {
  let r = await req(srv, 'GET', '/healthz');
  ok(r.status === 200 && r.json.status === 'ok', 'healthz', r.text);
  r = await req(srv, 'GET', '/readyz');
  ok(r.status === 200 && r.json.status === 'ready' && r.json.stores.ok, 'readyz checks the stores', r.text);

  // catalog
  r = await req(srv, 'GET', '/api/v1/products?q=mascara&pageSize=3');
  ok(r.status === 200 && r.json.items.length > 0 && /mascara/i.test(r.json.items[0].title) && r.json.total > 0 &&
     Array.isArray(r.json.facets.categories) && Array.isArray(r.json.facets.brands), 'products search with facets', r.text);
  const sku = r.json.items[0].sku;
  // the price ranges read as a scale, cheapest first, whatever their counts
  r = await req(srv, 'GET', '/api/v1/products?pageSize=1');
  const lows = (r.json?.facets?.prices || []).map((f) => Number(f.value.split(/[-+]/)[0]));
  ok(lows.length >= 3 && lows.every((v, i) => i === 0 || v > lows[i - 1]), 'price facets cheapest first',
     r.json?.facets?.prices);
  // a text search groups through the search index: the same scale (here
  // the most products are in the dearest range: 1000+ has 8 watches)
  r = await req(srv, 'GET', '/api/v1/products?q=watch&pageSize=1');
  const wl = (r.json?.facets?.prices || []).map((f) => Number(f.value.split(/[-+]/)[0]));
  const counts = (r.json?.facets?.prices || []).map((f) => f.count);
  ok(wl.length >= 3 && wl.every((v, i) => i === 0 || v > wl[i - 1]) && counts[counts.length - 1] > counts[0],
     'price facets of a text search cheapest first, not by count', r.json?.facets?.prices);
  r = await req(srv, 'GET', '/api/v1/products?category=beauty&sort=price-asc&pageSize=5&page=1&inStock=true');
  const prices = (r.json?.items || []).map((p) => p.price);
  ok(r.status === 200 && prices.length > 1 && prices.every((p, i) => i === 0 || prices[i - 1] <= p) &&
     r.json.items.every((p) => p.category === 'beauty'), 'products filter by category, sort by price', r.text);
  r = await req(srv, 'GET', '/api/v1/products?minPrice=10&maxPrice=20');
  ok(r.status === 200 && r.json.items.every((p) => p.price >= 10 && p.price <= 20), 'products price range');
  r = await req(srv, 'GET', '/api/v1/products?minPrice=abc');
  ok(isProblem(r, 400, 'invalid-parameter'), 'bad query parameter is a 400 problem', r.text);
  r = await req(srv, 'GET', '/api/v1/products?sort=sideways');
  ok(isProblem(r, 400, 'invalid-parameter'), 'unknown sort is a 400 problem');
  r = await req(srv, 'GET', `/api/v1/products/${sku}`);
  ok(r.status === 200 && r.json.sku === sku && typeof r.json.finalPrice === 'number', 'product detail', r.text);
  // the product's other facts, from the sample catalog's DummyJSON keys
  r = await req(srv, 'GET', '/api/v1/products/BEA-ESS-ESS-001');
  const f = r.json?.facts || {};
  ok(r.status === 200 && f.warranty === '1 week warranty' && typeof f.shipping === 'string' &&
     typeof f.returns === 'string' && f.weight === 4 && f.minOrder === 48 &&
     typeof f.dimensions?.width === 'number' && r.json.warrantyInformation === undefined,
     'product detail has its facts (warranty, shipping, returns, weight, dimensions, minOrder)', r.text);
  r = await req(srv, 'GET', '/api/v1/products?q=mascara&pageSize=3');
  ok(r.status === 200 && r.json.items.length > 0, 'search still answers with facts in the catalog', r.text);
  r = await req(srv, 'GET', '/api/v1/products/NO-SUCH-SKU');
  ok(isProblem(r, 404, 'not-found') && r.json.requestId && r.headers.get('x-request-id') === r.json.requestId,
     'unknown product: 404 problem+json with request id', r.text);

  // anonymous cart
  r = await req(srv, 'GET', '/api/v1/cart');
  ok(isProblem(r, 401, 'session-required'), 'cart without a session is 401', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/anonymous');
  ok(r.status === 201 && r.json.sessionToken && r.json.sessionId, 'anonymous session issued', r.text);
  const anon = r.json.sessionToken;
  r = await req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: { sku, qty: 2 } });
  ok(r.status === 200 && r.json.items[0].sku === sku && r.json.items[0].qty === 2 && r.json.count === 2, 'anonymous cart add', r.text);
  r = await req(srv, 'PATCH', `/api/v1/cart/items/${sku}`, { token: anon, body: { qty: 3 } });
  ok(r.status === 200 && r.json.items[0].qty === 3, 'cart patch quantity', r.text);
  r = await req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: { sku: 'NO-SUCH', qty: 1 } });
  ok(isProblem(r, 404, 'not-found'), 'cart add of an unknown product is 404');
  r = await req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: { sku, qty: 0 } });
  ok(isProblem(r, 422, 'validation'), 'cart add qty 0 is 422', r.text);
  r = await req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: { sku, qty: 100000 } });
  ok(r.status === 422 || r.status === 409, 'cart add of too many is refused', r.text);
  r = await req(srv, 'DELETE', `/api/v1/cart/items/NOT-IN-CART`, { token: anon });
  ok(isProblem(r, 404, 'not-found'), 'removing a line not in the cart is 404');
  r = await req(srv, 'GET', '/api/v1/cart', { token: anon });
  ok(r.status === 200 && r.json.count === 3, 'cart read back', r.text);

  // accounts: register merges the anonymous cart
  r = await register(srv, 'alice@example.com', anon);
  ok(r.status === 201 && r.json.accessToken && r.json.refreshToken && r.json.user.email === 'alice@example.com' &&
     r.json.expiresIn === 900, 'register returns tokens', r.text);
  const alice = r.json;
  ok(jwtPayload(alice.accessToken).sid === jwtPayload(anon).sid, 'login keeps the anonymous conversation');
  r = await req(srv, 'GET', '/api/v1/cart', { token: alice.accessToken });
  ok(r.status === 200 && r.json.count === 3 && r.json.items[0].sku === sku, 'anonymous cart merged into the user cart', r.text);
  r = await req(srv, 'GET', '/api/v1/cart', { token: anon });
  ok(r.status === 200 && r.json.count === 0, 'anonymous cart emptied after merge', r.text);
  r = await register(srv, 'alice@example.com');
  ok(isProblem(r, 409, 'email-taken'), 'duplicate e-mail is 409', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email: 'not-an-email', password: 'correct horse battery' } });
  ok(isProblem(r, 422, 'validation'), 'bad e-mail is 422');
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'alice@example.com', password: 'wrong password!' } });
  ok(isProblem(r, 401, 'invalid-credentials'), 'wrong password is 401', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'nobody@example.com', password: 'wrong password!' } });
  ok(isProblem(r, 401, 'invalid-credentials'), 'unknown e-mail is the same 401');
  r = await req(srv, 'GET', '/api/v1/me', { token: alice.accessToken });
  ok(r.status === 200 && r.json.email === 'alice@example.com' && r.json.role === 'user', 'GET /me', r.text);
  r = await req(srv, 'GET', '/api/v1/me', { token: anon });
  ok(isProblem(r, 401, 'login-required'), 'GET /me anonymous is 401');
  r = await req(srv, 'GET', '/api/v1/me/memory', { token: alice.accessToken });
  ok(r.status === 200 && r.json && typeof r.json === 'object', 'GET /me/memory', r.text);

  // orders
  r = await req(srv, 'POST', '/api/v1/orders', { token: anon, body: CHECKOUT, headers: { 'Idempotency-Key': 'k-anon' } });
  ok(isProblem(r, 401, 'login-required'), 'anonymous order creation is 401', r.text);
  r = await req(srv, 'POST', '/api/v1/orders', { token: alice.accessToken, body: CHECKOUT });
  ok(isProblem(r, 400, 'idempotency-key-required'), 'order without Idempotency-Key is 400', r.text);
  r = await req(srv, 'POST', '/api/v1/orders', { token: alice.accessToken, body: CHECKOUT, headers: { 'Idempotency-Key': 'order-1' } });
  ok(r.status === 201 && r.json.id && r.json.status === 'placed' && r.json.lines[0].qty === 3 &&
     r.headers.get('location') === `/api/v1/orders/${r.json.id}`, 'order placed (201, Location)', r.text);
  const order = r.json;
  r = await req(srv, 'POST', '/api/v1/orders', { token: alice.accessToken, body: CHECKOUT, headers: { 'Idempotency-Key': 'order-1' } });
  ok(r.status === 200 && r.json.id === order.id && r.headers.get('idempotent-replayed') === 'true',
     'duplicate Idempotency-Key returns the first order', r.text);
  r = await req(srv, 'POST', '/api/v1/orders', { token: alice.accessToken, body: CHECKOUT, headers: { 'Idempotency-Key': 'order-2' } });
  ok(isProblem(r, 409, 'cart-empty'), 'a new key on an empty cart is 409 cart-empty', r.text);
  r = await req(srv, 'GET', '/api/v1/orders', { token: alice.accessToken });
  ok(r.status === 200 && r.json.items.length === 1 && r.json.items[0].id === order.id, 'list own orders', r.text);
  r = await req(srv, 'GET', `/api/v1/orders/${order.id}`, { token: alice.accessToken });
  ok(r.status === 200 && r.json.id === order.id, 'order detail');
  r = await register(srv, 'bob@example.com');
  const bob = r.json;
  r = await req(srv, 'GET', `/api/v1/orders/${order.id}`, { token: bob.accessToken });
  ok(isProblem(r, 404, 'not-found'), "another user's order is 404", r.text);
  r = await req(srv, 'POST', `/api/v1/orders/${order.id}/cancel`, { token: bob.accessToken });
  ok(isProblem(r, 404, 'not-found'), "cancelling another user's order is 404", r.text);
  r = await req(srv, 'GET', '/api/v1/orders', { token: bob.accessToken });
  ok(r.status === 200 && r.json.items.length === 0, "another user's list is empty");
  r = await req(srv, 'GET', '/api/v1/orders/abc', { token: alice.accessToken });
  ok(isProblem(r, 404, 'not-found'), 'non-numeric order id is 404');
  r = await req(srv, 'POST', `/api/v1/orders/${order.id}/cancel`, { token: alice.accessToken });
  ok(r.status === 200 && r.json.status === 'cancelled', 'cancel own order', r.text);
  r = await req(srv, 'POST', `/api/v1/orders/${order.id}/cancel`, { token: alice.accessToken });
  ok(isProblem(r, 409, 'order-not-cancellable'), 'cancel twice is 409');

  // forged tokens
  const claims = jwtPayload(alice.accessToken);
  const forged = {
    'alg none': jwt({ alg: 'none', typ: 'JWT' }, claims),
    'wrong key': jwt({ alg: 'HS256', typ: 'JWT' }, claims, 'not-the-secret-' + 'y'.repeat(40)),
    'edited payload': alice.accessToken.split('.')[0] + '.' +
      Buffer.from(JSON.stringify({ ...claims, sub: String(bob.user.id) })).toString('base64url') + '.' + alice.accessToken.split('.')[2],
    'HS512 header': jwt({ alg: 'HS512', typ: 'JWT' }, claims, SECRET),
    'garbage': 'abc.def.ghi',
  };
  for (const [name, tok] of Object.entries(forged)) {
    r = await req(srv, 'GET', '/api/v1/orders', { token: tok });
    ok(isProblem(r, 401, 'invalid-token'), `forged token (${name}) is 401`, r.text);
  }
  r = await req(srv, 'GET', '/api/v1/orders', { token: jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, exp: Math.floor(Date.now() / 1000) - 5 }, SECRET) });
  ok(isProblem(r, 401, 'token-expired'), 'expired token is 401 token-expired', r.text);

  // refresh rotation and reuse detection
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: alice.refreshToken } });
  ok(r.status === 200 && r.json.refreshToken && r.json.refreshToken !== alice.refreshToken && r.json.accessToken, 'refresh rotates the token', r.text);
  const r2 = r.json.refreshToken;
  r = await req(srv, 'GET', '/api/v1/me', { token: r.json.accessToken });
  ok(r.status === 200 && r.json.email === 'alice@example.com', 'refreshed access token works');
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: alice.refreshToken } });
  ok(isProblem(r, 401, 'refresh-token-reused'), 'reusing a rotated refresh token is 401', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: r2 } });
  ok(r.status === 401, 'reuse revoked the whole family (newest token refused too)', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'alice@example.com', password: 'correct horse battery' } });
  ok(r.status === 200 && r.json.refreshToken, 'login', r.text);
  const login = r.json;
  r = await req(srv, 'POST', '/api/v1/auth/logout', { body: { refreshToken: login.refreshToken } });
  ok(r.status === 204, 'logout', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: login.refreshToken } });
  ok(r.status === 401, 'refresh after logout is 401', r.text);

  // a browser's refresh token: an HttpOnly, Secure, SameSite=Strict cookie
  // for the refresh endpoint only, never in the body
  const cookieOf = (res) => /aisle_refresh=([0-9a-f]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'alice@example.com', password: 'correct horse battery', refreshCookie: true } });
  const sc = r.headers.get('set-cookie') ?? '';
  ok(r.status === 200 && r.json.accessToken && !('refreshToken' in r.json) && /HttpOnly/.test(sc) && /Secure/.test(sc) &&
     /SameSite=Strict/.test(sc) && /Path=\/api\/v1\/auth\/refresh(;|$)/.test(sc) && cookieOf(r)?.length === 64,
     'login with refreshCookie: the token comes as an HttpOnly cookie for the refresh endpoint, not in the body', { sc, body: r.json });
  const c1 = cookieOf(r);
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { headers: { Cookie: `aisle_refresh=${c1}` } });
  const c2 = cookieOf(r);
  ok(r.status === 200 && r.json.accessToken && !('refreshToken' in r.json) && c2 && c2 !== c1,
     'a refresh by cookie rotates the cookie', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { headers: { Cookie: `aisle_refresh=${c1}` } });
  ok(isProblem(r, 401, 'refresh-token-reused'), 'a rotated cookie sent again is reuse: 401', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'alice@example.com', password: 'correct horse battery', refreshCookie: true } });
  const c3 = cookieOf(r), at3 = r.json.accessToken;
  r = await req(srv, 'POST', '/api/v1/auth/logout', { token: at3 });
  ok(r.status === 204 && /aisle_refresh=;/.test(r.headers.get('set-cookie') ?? '') && /Max-Age=0/.test(r.headers.get('set-cookie') ?? ''),
     'logout with the access token clears the cookie', r.headers.get('set-cookie'));
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { headers: { Cookie: `aisle_refresh=${c3}` } });
  ok(r.status === 401, 'the cookie\'s family is revoked by that logout', r.text);
  r = await req(srv, 'GET', '/api/v1/me', { token: at3 });
  ok(r.status === 401, 'and so is its access token', r.text);

  // admin writes
  const prod = { sku: 'TEST-1', title: 'Test Lamp', brand: 'Acme', category: 'lighting', price: 12.5, stock: 4 };
  r = await req(srv, 'POST', '/api/v1/products', { token: bob.accessToken, body: prod });
  ok(isProblem(r, 403, 'forbidden'), 'product write as a shopper is 403', r.text);
  r = await req(srv, 'POST', '/api/v1/products', { token: anon, body: prod });
  ok(isProblem(r, 401, 'login-required'), 'product write anonymous is 401');
  r = await register(srv, 'admin@example.com');
  ok(r.status === 201 && r.json.user.role === 'user', 'registering an address never grants the admin role', r.text);
  const admin = await makeAdmin(srv, 'admin@example.com');
  ok(admin.user && admin.user.role === 'admin', '`aisle admin grant` gives the admin role at the next login', admin);
  r = await req(srv, 'POST', '/api/v1/products', { token: admin.accessToken, body: prod });
  ok(r.status === 201 && r.json.sku === 'TEST-1', 'admin creates a product', r.text);
  r = await req(srv, 'POST', '/api/v1/products', { token: admin.accessToken, body: prod });
  ok(isProblem(r, 409, 'conflict'), 'creating it again is 409');
  r = await req(srv, 'PUT', '/api/v1/products/TEST-1', { token: admin.accessToken, body: { ...prod, price: 15 } });
  ok(r.status === 200 && r.json.price === 15, 'admin replaces a product', r.text);
  r = await req(srv, 'PUT', '/api/v1/products/TEST-1', { token: admin.accessToken,
    body: { ...prod, facts: { warranty: '2 year warranty', weight: 1.5, minOrder: 'two', colour: 'red' } } });
  ok(r.status === 200 && r.json.facts?.warranty === '2 year warranty' && r.json.facts.weight === 1.5 &&
     r.json.facts.minOrder === undefined && r.json.facts.colour === undefined,
     'admin writes facts: known keys of the right type kept, the rest dropped', r.text);
  r = await req(srv, 'GET', '/api/v1/products/TEST-1');
  ok(r.status === 200 && r.json.facts?.warranty === '2 year warranty', 'written facts read back', r.text);
  r = await req(srv, 'PUT', '/api/v1/products/TEST-1', { token: admin.accessToken, body: { ...prod, price: -1 } });
  ok(isProblem(r, 422, 'validation'), 'negative price is 422', r.text);
  r = await req(srv, 'DELETE', '/api/v1/products/TEST-1', { token: admin.accessToken });
  ok(r.status === 204, 'admin deletes a product');
  r = await req(srv, 'GET', '/api/v1/products/TEST-1');
  ok(r.status === 404, 'deleted product is gone');

  // chat over REST
  r = await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'how long does shipping take?' } });
  const c = r.json || {};
  ok(r.status === 200 && c.sessionId === jwtPayload(anon).sid && c.intent?.name === 'shipping_times' &&
     typeof c.intent.confidence === 'number' && /shipping/i.test(c.reply?.text) && Array.isArray(c.reply.cards) &&
     Array.isArray(c.reply.suggestions) && c.cart && Array.isArray(c.actions) && c.traceId, 'REST chat reply shape', r.text);
  r = await req(srv, 'POST', '/api/v1/chat', { body: { text: 'hi' } });
  ok(isProblem(r, 401, 'session-required'), 'REST chat needs a session token');
  r = await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'hi', sessionId: 'someone-else' } });
  ok(isProblem(r, 404, 'session-not-found'), "another session's id is 404", r.text);
  r = await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'x'.repeat(5000) } });
  ok(isProblem(r, 413, 'message-too-long'), 'chat message over the limit is 413', r.text);
  r = await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'can I pay with paypal', clientMsgId: 'm-1' } });
  const first = r.json;
  r = await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'can I pay with paypal', clientMsgId: 'm-1' } });
  ok(r.status === 200 && first && r.json.traceId === first.traceId, 'REST resend of clientMsgId answered once', r.text);

  // traces and pipelines (inspector: admin outside dev mode)
  r = await req(srv, 'GET', `/api/v1/traces/${c.traceId}`, { token: anon });
  ok(isProblem(r, 401, 'login-required'), 'traces need a logged-in admin (anonymous: 401)');
  r = await req(srv, 'GET', `/api/v1/traces/${c.traceId}`, { token: bob.accessToken });
  ok(isProblem(r, 403, 'forbidden'), 'traces need the admin role (shopper: 403)');
  r = await req(srv, 'GET', `/api/v1/traces/${c.traceId}`, { token: admin.accessToken });
  ok(r.status === 200 && r.json.intent?.name === 'shipping_times' && Array.isArray(r.json.trace), 'GET /traces/{id}', r.text);
  r = await req(srv, 'GET', '/api/v1/traces?limit=2', { token: admin.accessToken });
  ok(r.status === 200 && r.json.items.length === 2 && r.json.items[0].id, 'GET /traces?limit', r.text);
  r = await req(srv, 'GET', '/api/v1/traces/nope', { token: admin.accessToken });
  ok(r.status === 404, 'unknown trace is 404');
  r = await req(srv, 'GET', '/api/v1/pipelines', { token: admin.accessToken });
  ok(r.status === 200 && r.json.name === 'store-faq' && r.json.graph && Array.isArray(r.json.reloads) && r.json.reloads[0].ok,
     'GET /pipelines: graph and reload history', r.text);
  r = await req(srv, 'POST', '/api/v1/pipelines/reload', { token: bob.accessToken });
  ok(r.status === 403, 'reload needs the admin role');
  r = await req(srv, 'POST', '/api/v1/pipelines/reload', { token: admin.accessToken });
  ok(r.status === 200 && r.json.reloaded === true, 'admin reloads the pipeline', r.text);

  // malformed input never hurts the server
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: Buffer.from([0x7b, 0x22, 0x65, 0xc3, 0x28, 0x22, 0x7d]), headers: { 'Content-Type': 'application/json' } });
  ok(isProblem(r, 400, 'invalid-utf8'), 'invalid UTF-8 body is 400', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: '{"email": ', headers: { 'Content-Type': 'application/json' } });
  ok(isProblem(r, 400, 'invalid-json'), 'truncated JSON is 400');
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: '[1,2]', headers: { 'Content-Type': 'application/json' } });
  ok(isProblem(r, 400, 'invalid-json'), 'a JSON array body is 400');
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: '['.repeat(100000), headers: { 'Content-Type': 'application/json' } });
  ok(r.status === 413 || r.status === 400, 'deeply nested JSON is refused', r.status);
  r = await req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: 'x'.repeat(70000) });
  ok(isProblem(r, 413, 'payload-too-large'), 'oversized body is 413', r.text);
  r = await req(srv, 'GET', '/api/v1/nothing-here');
  ok(isProblem(r, 404, 'not-found'), 'unknown API path is 404');
  r = await req(srv, 'PUT', '/api/v1/cart', { token: anon });
  ok(isProblem(r, 405, 'method-not-allowed'), 'wrong method is 405');
  r = await req(srv, 'GET', '/api/v1/products', { headers: { Authorization: 'Basic abc' } });
  ok(r.status === 401, 'a non-Bearer Authorization header is 401');

  // UI files (ui/dist is not built in tests: the placeholder page)
  r = await req(srv, 'GET', '/');
  ok(r.status === 200 && /text\/html/.test(r.headers.get('content-type')) && /not built|<div id=/i.test(r.text), 'GET / serves the UI or the not-built page');
  r = await req(srv, 'GET', '/inspector');
  ok(r.status === 200 && /text\/html/.test(r.headers.get('content-type')), 'GET /inspector falls back to the SPA');
  r = await req(srv, 'GET', '/missing.js');
  ok(r.status === 404, 'a missing asset is 404');
  r = await req(srv, 'GET', '/docs');
  ok(r.status === 200 && /openapi\.json/.test(r.text), 'GET /docs renders the OpenAPI document');
  return { anon, alice: login, bob, admin, sku };
}

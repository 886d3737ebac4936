// tests/integration/gateway/mcp.mjs — the MCP endpoint as an outside
// agent sees it: a real `aisle serve` with the shipped commerce pipeline,
// driven by the official SDK client (Client + StreamableHTTPClientTransport,
// the bearer token in requestInit): tools and their schemas, search,
// product, cart, the two-step checkout as a signed-in shopper (no order,
// no stock taken, no charge without a saved address and card: the answer
// says what is missing and gives the checkout page; with them the order is
// paid with the saved card, once, and is in REST GET /api/v1/orders), refusals (unknown tool, malformed
// and missing arguments, invented SKU, confirmation missing, forged or
// stale, cart tool without a token, order tool without a login), two
// parallel confirmations with one key placing one order, resources with
// pages; and the transport itself over plain HTTP (sessions, versions,
// Origin, body limits, 405 for GET, rate limits). Run by
// tests/integration/mcp.sh; prints ok / not ok lines.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, req, startServer, stopServer, failed, metric, saveCheckoutFacts, TEST_ADDRESS, TEST_CARD } from './lib.mjs';
import { sql } from './stores.mjs';

const CONFIG = 'limits:\n  ip_rps: 1000\n  ip_burst: 1000\n  user_rps: 1000\n  user_burst: 1000\n';
const SKU = 'BEA-ESS-ESS-001'; // Essence Mascara, $9.99, in stock in the sample catalog
const TOOLS = ['search_products', 'get_product', 'compare_products', 'view_cart', 'add_to_cart', 'update_cart_item', 'remove_from_cart',
  'apply_promo_code', 'request_checkout', 'confirm_checkout', 'request_handoff', 'order_status', 'shop_policy'];

async function connect(srv, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(srv.base + '/mcp'), { requestInit: { headers } });
  const client = new Client({ name: 'aisle-mcp-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

async function call(client, name, args) {
  try {
    return await client.callTool({ name, arguments: args });
  } catch (e) {
    return { thrown: e };
  }
}
const refused = (res, code) => res && res.isError === true && res.structuredContent?.error === code &&
  typeof res.content?.[0]?.text === 'string' && res.content[0].text.length > 10;

async function signIn(srv, email) {
  const r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email, password: 'correct horse battery', name: 'M' } });
  if (r.status !== 201) throw new Error(`register ${email}: ${r.status} ${r.text}`);
  return r.json.accessToken;
}

// a raw JSON-RPC POST; `sid` false: no session header
async function raw(srv, body, { sid, headers = {}, token } = {}) {
  const h = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...headers };
  if (sid) h['Mcp-Session-Id'] = sid;
  if (token) h.Authorization = `Bearer ${token}`;
  const r = await fetch(srv.base + '/mcp', { method: 'POST', headers: h, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* empty or not JSON */ }
  return { status: r.status, headers: r.headers, text, json };
}
const init = (v = LATEST_PROTOCOL_VERSION) => ({ jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: v, capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

async function agentTests(srv) {
  // ---- discovery, as any agent, without a token ----
  const { client: anon, transport: anonT } = await connect(srv);
  ok(anonT.protocolVersion === LATEST_PROTOCOL_VERSION, `the SDK negotiates its latest protocol version (${LATEST_PROTOCOL_VERSION})`, anonT.protocolVersion);
  ok(typeof anonT.sessionId === 'string' && /^[0-9a-f]{32}$/.test(anonT.sessionId), 'initialize issues an Mcp-Session-Id', anonT.sessionId);
  const caps = anon.getServerCapabilities();
  ok(caps?.tools && caps?.resources, 'capabilities: tools and resources', caps);
  ok(anon.getServerVersion()?.name === 'aisle' && /request_checkout/.test(anon.getInstructions() || ''), 'serverInfo and instructions', anon.getServerVersion());
  const { tools } = await anon.listTools();
  const names = tools.map((t) => t.name);
  ok(TOOLS.every((n) => names.includes(n)) && names.length === TOOLS.length, `tools/list: ${TOOLS.length} tools`, names);
  const badSchemas = tools.filter((t) => t.inputSchema?.type !== 'object' || t.inputSchema.additionalProperties !== false || !t.description);
  ok(badSchemas.length === 0, 'every tool has a description and a closed object inputSchema', badSchemas.map((t) => t.name));
  const add = tools.find((t) => t.name === 'add_to_cart');
  ok(JSON.stringify(add.inputSchema.required) === '["sku","quantity"]' && add.inputSchema.properties.quantity.type === 'integer' &&
    add.inputSchema.properties.quantity.minimum === 1, 'add_to_cart schema: sku and quantity (integer, at least 1) required', add.inputSchema);
  ok(tools.find((t) => t.name === 'request_checkout').annotations?.readOnlyHint === true &&
    tools.find((t) => t.name === 'confirm_checkout').annotations?.readOnlyHint === false, 'annotations: request_checkout reads, confirm_checkout writes');
  ok((await anon.ping()) !== undefined, 'ping');

  let r = await call(anon, 'search_products', { query: 'mascara', maxPrice: 50, limit: 5 });
  const hit = r.structuredContent?.items?.find((p) => p.sku === SKU);
  ok(!r.isError && hit && typeof hit.finalPrice === 'number' && r.structuredContent.items.every((p) => p.finalPrice <= 50),
    'search_products finds the mascara within maxPrice', r);
  ok(JSON.parse(r.content[0].text).total === r.structuredContent.total, 'the text content is the same JSON as structuredContent');
  r = await call(anon, 'get_product', { sku: SKU });
  const rest = await req(srv, 'GET', `/api/v1/products/${SKU}`);
  ok(!r.isError && r.structuredContent?.sku === SKU && r.structuredContent.finalPrice === rest.json.finalPrice &&
    r.structuredContent.title === rest.json.title, 'get_product answers what REST GET /products/{sku} answers', r);

  // compare: two products side by side, priced as REST prices them
  const cmpTool = tools.find((t) => t.name === 'compare_products');
  const skusSchema = cmpTool?.inputSchema?.properties?.skus;
  ok(skusSchema?.type === 'array' && skusSchema.items?.type === 'string' && skusSchema.minItems === 2 && skusSchema.maxItems === 4 &&
    JSON.stringify(cmpTool.inputSchema.required) === '["skus"]', 'compare_products schema: skus, a list of 2 to 4 strings', cmpTool?.inputSchema);
  const found = (await call(anon, 'search_products', { query: 'iphone', limit: 3 })).structuredContent?.items || [];
  const cmpPair = found.slice(0, 2).map((p) => p.sku);
  r = await call(anon, 'compare_products', { skus: cmpPair });
  const rests = await Promise.all(cmpPair.map((s) => req(srv, 'GET', `/api/v1/products/${s}`)));
  const cheaper = rests[0].json.finalPrice <= rests[1].json.finalPrice ? cmpPair[0] : cmpPair[1];
  const better = rests[0].json.rating >= rests[1].json.rating ? cmpPair[0] : cmpPair[1];
  ok(cmpPair.length === 2 && !r.isError && r.structuredContent?.items?.map((x) => x.sku).join() === cmpPair.join() &&
    r.structuredContent.items.every((x, i) => x.finalPrice === rests[i].json.finalPrice && x.rating === rests[i].json.rating) &&
    r.structuredContent.cheapest === cheaper && r.structuredContent.bestRated === better,
    'compare_products: both products with the prices and ratings REST gives, the cheapest and the best rated', r.structuredContent ?? r);
  r = await call(anon, 'compare_products', { skus: [SKU, 'NO-SUCH-SKU-424242'] });
  ok(refused(r, 'not-found') && /NO-SUCH-SKU-424242/.test(r.content[0].text), 'compare_products with an invented SKU: isError not-found naming it', r);
  r = await call(anon, 'compare_products', { skus: [SKU, SKU] });
  ok(refused(r, 'invalid-arguments') && /repeats/.test(r.content[0].text), 'compare_products of one SKU twice: isError invalid-arguments', r);
  r = await call(anon, 'compare_products', { skus: [SKU] });
  ok(refused(r, 'invalid-arguments') && /2 to 4/.test(r.content[0].text), 'compare_products of one product: isError invalid-arguments', r);

  // ---- refusals a client sees ----
  r = await call(anon, 'get_product', { sku: 'NO-SUCH-SKU-424242' });
  ok(refused(r, 'not-found'), 'get_product of an invented SKU: isError not-found', r);
  r = await call(anon, 'view_cart', {});
  ok(refused(r, 'session-required') && /Bearer/.test(r.content[0].text), 'view_cart without a token: isError session-required, says how to get one', r);
  r = await call(anon, 'add_to_cart', { sku: SKU, quantity: 1 });
  ok(refused(r, 'session-required'), 'add_to_cart without a token: refused', r);
  r = await call(anon, 'request_handoff', { reason: 'talk to a person' });
  ok(refused(r, 'session-required'), 'request_handoff without a token: refused (the support team needs a session to answer)', r);
  r = await call(anon, 'buy_everything', {});
  ok(r.thrown && r.thrown.code === -32602 && /Unknown tool/.test(r.thrown.message), 'unknown tool: JSON-RPC error -32602', r.thrown?.message);
  r = await call(anon, 'get_product', {});
  ok(refused(r, 'invalid-arguments') && /sku is required/.test(r.content[0].text), 'missing required argument: isError invalid-arguments', r);
  r = await call(anon, 'search_products', { query: 'mascara', limit: 'ten' });
  ok(refused(r, 'invalid-arguments') && /limit must be an integer/.test(r.content[0].text), 'wrong argument type: isError invalid-arguments', r);
  r = await call(anon, 'search_products', { query: 'mascara', colour: 'red' });
  ok(refused(r, 'invalid-arguments') && /unknown argument/.test(r.content[0].text), 'unknown argument: isError invalid-arguments', r);

  // ---- resources ----
  const page1 = await anon.listResources();
  ok(page1.resources[0]?.uri === 'shop://policies' && page1.resources[0].mimeType === 'text/markdown',
    'resources/list: the shop\'s policies first (shop://policies, markdown)', page1.resources[0]);
  page1.resources = page1.resources.filter((x) => x.uri !== 'shop://policies');
  ok(page1.resources.length === 50 && page1.nextCursor && page1.resources.every((x) => x.uri.startsWith('product://')),
    'resources/list: 50 product:// items and a nextCursor', { n: page1.resources.length, next: page1.nextCursor });
  const pol = await anon.readResource({ uri: 'shop://policies' });
  ok(pol.contents?.[0]?.mimeType === 'text/markdown' && /## Returns/.test(pol.contents[0].text) && /## Payment methods/.test(pol.contents[0].text),
    'resources/read shop://policies: the knowledge file as the shop wrote it', pol.contents?.[0]?.text?.slice(0, 120));
  // the policy tool quotes the shop's own text; what the file does not answer is said so
  r = await call(anon, 'shop_policy', { question: 'if the jacket does not fit can I send it back, and for how long?' });
  ok(!r.isError && r.structuredContent?.section && /return/i.test(r.structuredContent.section + r.structuredContent.answer),
    'shop_policy: a returns question gets the Returns section, quoted', r.structuredContent ?? r);
  r = await call(anon, 'shop_policy', { question: 'which cards and wallets can I pay with' });
  ok(!r.isError && /payment/i.test(r.structuredContent?.section ?? ''), 'shop_policy: a payment question gets the payment section', r.structuredContent ?? r);
  r = await call(anon, 'shop_policy', { question: 'who won the football last night' });
  ok(refused(r, 'no-answer'), 'shop_policy: a question the policies do not answer is refused as no-answer', r);
  const page2 = await anon.listResources({ cursor: page1.nextCursor });
  const dup = page2.resources.filter((x) => page1.resources.some((y) => y.uri === x.uri));
  ok(page2.resources.length > 0 && dup.length === 0, 'resources/list: the next page holds other products', { n: page2.resources.length, dup: dup.length });
  let all = page1.resources.length + page2.resources.length, cur = page2.nextCursor;
  while (cur) { const p = await anon.listResources({ cursor: cur }); all += p.resources.length; cur = p.nextCursor; }
  const count = (await req(srv, 'GET', '/api/v1/products?pageSize=1')).json.total;
  ok(all === count, `resources/list pages through the whole catalog (${count} products)`, { listed: all, count });
  const rr = await anon.readResource({ uri: `product://${SKU}` });
  const doc = JSON.parse(rr.contents?.[0]?.text || 'null');
  ok(rr.contents[0].mimeType === 'application/json' && doc?.sku === SKU, 'resources/read product://{sku}: the product as JSON', rr);
  r = await anon.readResource({ uri: 'product://NO-SUCH-SKU-424242' }).catch((e) => ({ thrown: e }));
  ok(r.thrown?.code === -32002, 'resources/read of an invented SKU: -32002 resource not found', r.thrown?.message);
  const tpl = await anon.listResourceTemplates();
  ok(tpl.resourceTemplates?.[0]?.uriTemplate === 'product://{sku}', 'resources/templates/list: product://{sku}', tpl);
  await anon.close();

  // ---- an anonymous shopper: cart yes, orders no ----
  const sessionToken = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
  const { client: guest } = await connect(srv, sessionToken);
  r = await call(guest, 'add_to_cart', { sku: SKU, quantity: 1 });
  ok(!r.isError && r.structuredContent?.items?.[0]?.sku === SKU, 'add_to_cart with an anonymous session token', r);
  const restCart = await req(srv, 'GET', '/api/v1/cart', { token: sessionToken });
  ok(restCart.json?.items?.[0]?.qty === 1, 'the same cart is in REST GET /api/v1/cart', restCart.json);
  r = await call(guest, 'request_checkout', {});
  ok(refused(r, 'login-required'), 'request_checkout with an anonymous token: isError login-required', r);
  // a person takes over: a ticket in the audit trail, for this session
  r = await call(guest, 'request_handoff', { reason: 'the shopper wants to talk to a person about a gift' });
  const hand = sql(join(srv.dir, 'aisle.db'), "SELECT actor, subject, detail FROM audit WHERE action = 'support.handoff'");
  ok(!r.isError && /^mcp:[0-9a-f]{16}$/.test(r.structuredContent?.ticket || '') && hand.length === 1 &&
    hand[0].subject === r.structuredContent.ticket && /^session:/.test(hand[0].actor) &&
    JSON.parse(hand[0].detail).via === 'mcp' && /about a gift/.test(JSON.parse(hand[0].detail).reason),
    'request_handoff: a ticket, one support.handoff audit entry for the session, via mcp, with the reason', { r, hand });
  r = await call(guest, 'request_handoff', {});
  ok(refused(r, 'invalid-arguments') && /reason is required/.test(r.content[0].text), 'request_handoff without a reason: invalid-arguments', r);
  await guest.close();

  // ---- a signed-in shopper: cart and the two-step checkout ----
  const token = await signIn(srv, 'mcp-shopper@example.com');
  const { client: me } = await connect(srv, token);
  r = await call(me, 'add_to_cart', { sku: SKU, quantity: 2 });
  ok(!r.isError && r.structuredContent?.items?.find((l) => l.sku === SKU)?.qty === 2, 'add_to_cart: the line has quantity 2', r);
  r = await call(me, 'add_to_cart', { sku: 'NO-SUCH-SKU-424242', quantity: 1 });
  ok(refused(r, 'not-found'), 'add_to_cart of an invented SKU: isError not-found', r);
  r = await call(me, 'add_to_cart', { sku: SKU, quantity: 'two' });
  ok(refused(r, 'invalid-arguments'), 'add_to_cart with quantity "two": isError invalid-arguments', r);
  r = await call(me, 'add_to_cart', { sku: SKU, quantity: 0 });
  ok(refused(r, 'invalid-arguments') && /from 1 to 999/.test(r.content[0].text), 'add_to_cart with quantity 0: out of range', r);
  // the shop's Lua rules hold for an outside agent as for the chat: the
  // 11th of one item is vetoed by scripts/cart_limits.lua, with its reason
  r = await call(me, 'add_to_cart', { sku: SKU, quantity: 9 });
  ok(refused(r, 'rule-veto') && /at most 10 of the same item per order/.test(r.content[0].text),
    'add_to_cart past the rule\'s limit (2 + 9 > 10): isError rule-veto with the rule\'s reason', r);
  r = await call(me, 'view_cart', {});
  ok(!r.isError && r.structuredContent?.items?.find((l) => l.sku === SKU)?.qty === 2, 'the vetoed add changed nothing: still 2', r.structuredContent);
  r = await call(me, 'update_cart_item', { sku: SKU, quantity: 11 });
  ok(refused(r, 'rule-veto') && /at most 10/.test(r.content[0].text), 'update_cart_item to 11: isError rule-veto', r);
  r = await call(me, 'view_cart', {});
  const cart = r.structuredContent;
  ok(!r.isError && cart?.count === 2 && cart.total > 0, 'view_cart: 2 items, a total', cart);
  r = await call(me, 'apply_promo_code', { code: 'NOT-A-REAL-CODE' });
  ok(r.isError === true && r.structuredContent?.error === 'promo-code-invalid', 'apply_promo_code of an unknown code: isError promo-code-invalid', r);

  r = await call(me, 'confirm_checkout', {});
  ok(refused(r, 'invalid-arguments') && /confirmationId is required/.test(r.content[0].text), 'confirm_checkout without a confirmation id: refused', r);

  // ---- no order without a delivery address and a payment (the chat's and REST's rule) ----
  const stockOf = async () => (await req(srv, 'GET', `/api/v1/products/${SKU}`)).json.stock;
  const charges = async () => {
    const t = (await req(srv, 'GET', '/metrics')).text;
    return { approved: metric(t, 'aisle_payment_charges_total', 'result="approved"'),
      all: ['approved', 'declined', 'error'].reduce((n, k) => n + metric(t, 'aisle_payment_charges_total', `result="${k}"`), 0),
      refunds: metric(t, 'aisle_payment_refunds_total') };
  };
  const stock0 = await stockOf(), charges0 = await charges();
  r = await call(me, 'confirm_checkout', { confirmationId: 'deadbeef.0123456789abcdef0123456789abcdef' });
  ok(refused(r, 'checkout-incomplete'), 'confirm_checkout with a forged id and no saved facts: checkout-incomplete, nothing ordered', r);
  r = await call(me, 'request_checkout', {});
  const sc = r.structuredContent;
  ok(refused(r, 'checkout-incomplete') && JSON.stringify(sc.missing) === '["address","payment"]' && !sc.confirmationId,
    'request_checkout with no saved address or card: checkout-incomplete, missing address and payment, no confirmation id', r);
  ok(sc?.checkoutUrl === srv.base + '/' && r.content[0].text.includes(srv.base + '/') && /delivery address/.test(r.content[0].text) &&
    /payment card/.test(r.content[0].text) && /never through an agent/.test(r.content[0].text),
    'checkout-incomplete says what is missing and where the shopper adds it (the checkout page URL)', r.content[0].text);
  let put = await req(srv, 'PUT', '/api/v1/me/address', { token, body: TEST_ADDRESS });
  ok(put.status === 200, 'the shopper saves a delivery address (PUT /api/v1/me/address, as the checkout page does)', put.text);
  r = await call(me, 'request_checkout', {});
  ok(refused(r, 'checkout-incomplete') && JSON.stringify(r.structuredContent.missing) === '["payment"]' && /payment card/.test(r.content[0].text),
    'request_checkout with an address and no card: checkout-incomplete, missing payment', r);
  let orders = await req(srv, 'GET', '/api/v1/orders', { token });
  const noRows = sql(join(srv.dir, 'aisle.db'), 'SELECT id FROM orders');
  ok(orders.json.items.length === 0 && noRows.length === 0, 'no order row for the shopper without a card', { api: orders.json, rows: noRows });
  ok(await stockOf() === stock0, 'no stock taken', { before: stock0, after: await stockOf() });
  ok((await charges()).all === charges0.all, 'the payment provider was not asked', await charges());
  put = await req(srv, 'PUT', '/api/v1/me/payment-method', { token, body: TEST_CARD });
  ok(put.status === 200 && put.json.last4 === '4242', 'the shopper saves a card on the checkout page (PUT /api/v1/me/payment-method)', put.text);

  r = await call(me, 'confirm_checkout', { confirmationId: 'deadbeef.0123456789abcdef0123456789abcdef' });
  ok(refused(r, 'confirmation-stale'), 'confirm_checkout with a forged confirmation id: refused', r);
  r = await call(me, 'request_checkout', {});
  const first = r.structuredContent;
  const ship = first?.delivery?.price;
  ok(!r.isError && typeof first?.confirmationId === 'string' && first.goodsTotal === cart.total && first.cart?.count === 2 &&
    first.delivery?.id === 'standard' && Math.round((cart.total + ship) * 100) === Math.round(first.total * 100),
    'request_checkout: the priced summary (goods, the first delivery option, the total charged) and a confirmation id', r);
  ok(first?.address?.name === TEST_ADDRESS.name && first?.payment?.last4 === '4242' && first.currency === 'USD' && !JSON.stringify(first).includes('test_tok_'),
    'the summary names the saved address and card (brand and last 4 only)', first);

  // the card removed after the summary: the confirmation orders nothing
  await req(srv, 'DELETE', '/api/v1/me/payment-method', { token });
  r = await call(me, 'confirm_checkout', { confirmationId: first.confirmationId });
  ok(refused(r, 'checkout-incomplete') && JSON.stringify(r.structuredContent.missing) === '["payment"]',
    'confirm_checkout after the card was removed: checkout-incomplete, nothing ordered', r);
  orders = await req(srv, 'GET', '/api/v1/orders', { token });
  ok(orders.json.items.length === 0 && await stockOf() === stock0 && (await charges()).all === charges0.all,
    'no order, no stock taken, no charge', { orders: orders.json.items.length, stock: await stockOf() });
  await req(srv, 'PUT', '/api/v1/me/payment-method', { token, body: TEST_CARD });
  r = await call(me, 'update_cart_item', { sku: SKU, quantity: 1 });
  ok(!r.isError && r.structuredContent?.count === 1, 'update_cart_item: quantity 1', r);
  r = await call(me, 'confirm_checkout', { confirmationId: first.confirmationId });
  ok(refused(r, 'confirmation-stale') && /request_checkout again/.test(r.content[0].text), 'confirm_checkout after the cart changed: stale, asks to request again', r);
  orders = await req(srv, 'GET', '/api/v1/orders', { token });
  ok(orders.status === 200 && orders.json.items.length === 0, 'no order was placed by the refused confirmations', orders.json);

  r = await call(me, 'request_checkout', {});
  const second = r.structuredContent;
  ok(!r.isError && second.confirmationId !== first.confirmationId && second.cart.count === 1, 'request_checkout again: a new confirmation id', r);
  const key = 'agent-key-' + Date.now();
  const both = await Promise.all([1, 2].map(() => call(me, 'confirm_checkout', { confirmationId: second.confirmationId, idempotencyKey: key })));
  const ids = both.map((x) => x.structuredContent?.order?.id);
  ok(both.every((x) => !x.isError) && ids[0] && ids[0] === ids[1], 'two parallel confirm_checkout with one key: both answer the same order', both);
  ok(both.filter((x) => x.structuredContent?.replayed === false).length === 1, 'one of them placed it, the other was a replay', both.map((x) => x.structuredContent?.replayed));
  orders = await req(srv, 'GET', '/api/v1/orders', { token });
  ok(orders.json.items.length === 1 && orders.json.items[0].id === ids[0], 'REST GET /api/v1/orders: exactly that one order', orders.json);
  const order1 = both[0].structuredContent.order, charges1 = await charges();
  ok(order1.payment?.status === 'paid' && order1.payment.provider === 'test' && order1.payment.last4 === '4242' &&
    order1.payment.saved === true && Math.round(order1.payment.amount * 100) === Math.round(second.total * 100) &&
    Math.round(order1.total * 100) === Math.round(second.total * 100),
    'the order is paid with the saved card, for the total the summary showed (delivery included)', order1);
  ok(charges1.approved - charges0.approved === 1 && charges1.all - charges0.all === 1 && charges1.refunds === charges0.refunds,
    'the payment provider charged exactly once for the two parallel confirmations (nothing refunded)', { charges0, charges1 });
  ok(order1.address?.name === TEST_ADDRESS.name && order1.delivery?.id === 'standard', 'the order keeps the saved address and the delivery option', order1);
  r = await call(me, 'confirm_checkout', { confirmationId: second.confirmationId, idempotencyKey: key });
  ok(!r.isError && r.structuredContent?.order?.id === ids[0] && r.structuredContent.replayed === true, 'the same confirmation again (cart now empty): the first order, replayed', r);
  r = await call(me, 'order_status', { orderId: ids[0] });
  ok(!r.isError && r.structuredContent?.id === ids[0] && typeof r.structuredContent.status === 'string', 'order_status of the order', r);
  r = await call(me, 'order_status', { orderId: ids[0] + 1000 });
  ok(refused(r, 'not-found'), 'order_status of another id: isError not-found', r);
  r = await call(me, 'view_cart', {});
  ok(!r.isError && r.structuredContent?.count === 0, 'the cart is empty after the order', r.structuredContent);
  r = await call(me, 'request_checkout', {});
  ok(refused(r, 'cart-empty'), 'request_checkout of an empty cart: isError cart-empty', r);

  // without a key of the agent's own, the confirmation id is the key
  await call(me, 'add_to_cart', { sku: SKU, quantity: 1 });
  const third = (await call(me, 'request_checkout', {})).structuredContent;
  const pair = await Promise.all([1, 2].map(() => call(me, 'confirm_checkout', { confirmationId: third.confirmationId })));
  ok(pair.every((x) => !x.isError) && pair[0].structuredContent.order.id === pair[1].structuredContent.order.id,
    'two parallel confirm_checkout without a key: one order', pair);
  ok((await charges()).approved - charges1.approved === 1, 'and one charge', await charges());
  orders = await req(srv, 'GET', '/api/v1/orders', { token });
  ok(orders.json.items.length === 2, 'REST: two orders in all', orders.json.items.map((o) => o.id));
  await me.close();

  // one order.create audit entry per order, recorded as coming from MCP
  const audit = sql(join(srv.dir, 'aisle.db'), "SELECT detail FROM audit WHERE action = 'order.create'");
  ok(audit.length === 2 && audit.every((a) => JSON.parse(a.detail).via === 'mcp'), 'audit: one order.create per order, via mcp', audit);
  const adds = sql(join(srv.dir, 'aisle.db'), "SELECT detail FROM audit WHERE action = 'cart.add'");
  ok(adds.length >= 3 && adds.every((a) => JSON.parse(a.detail || '{}').via === 'mcp'), 'audit: cart.add entries via mcp', adds);
}

// ---- ACP's MCP binding (mcp-binding.md): an agent partner connected with its ACP key
const ACP_KEY = 'acp-partner-key-for-mcp-tests-5c1e';
const SPEC = '../shared/specs/acp-2026-04-17';
const ACP_TOOLS = ['create_checkout_session', 'get_checkout_session', 'update_checkout_session', 'complete_checkout_session', 'cancel_checkout_session'];

async function acpSchemas() {
  if (!existsSync(SPEC)) { console.log(`skip mcp acp schema validation: ${SPEC} is not present`); return null; }
  const Ajv2020 = (await import('ajv/dist/2020.js')).default;
  const addFormats = (await import('ajv-formats')).default;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const sch = JSON.parse(readFileSync(`${SPEC}/schema.agentic_checkout.json`, 'utf8'));
  ajv.addSchema(sch);
  return (def, v) => { const f = ajv.getSchema(`${sch.$id}#/$defs/${def}`); const good = f(v); return good || f.errors; };
}

async function acpBindingTests(srv) {
  const check = await acpSchemas();
  const validAs = (def, v, what) => { if (!check) return; const res = check(def, v); ok(res === true, `${what}: matches the ACP schema's ${def}`, res); };
  const meta = (extra = {}) => ({ api_version: '2026-04-17', ...extra });
  const { client: agent } = await connect(srv, ACP_KEY);
  const { tools } = await agent.listTools();
  const names = tools.map((t) => t.name);
  ok(ACP_TOOLS.every((n) => names.includes(n)) && !names.includes('add_to_cart') && names.includes('search_products'),
    'acp binding: a partner key lists the five checkout-session tools (and browsing), no shopper cart tools', names);
  const createTool = tools.find((t) => t.name === 'create_checkout_session');
  ok(createTool.inputSchema.required.join() === 'meta,payload' && createTool.inputSchema.properties.meta.required[0] === 'api_version' &&
    tools.find((t) => t.name === 'get_checkout_session').inputSchema.required.join() === 'meta,id',
    'acp binding: arguments {meta, id, payload} as the binding defines them', createTool.inputSchema);
  const buyer = 'mcp-acp-buyer@example.com';
  await signIn(srv, buyer);
  const payload = { currency: 'usd', line_items: [{ id: SKU }], buyer: { email: buyer },
    fulfillment_details: { name: 'Robin Quill', address: { name: 'Robin Quill', line_one: '77 Harbour Lane', city: 'Portland', state: 'OR', country: 'US', postal_code: '97205' } } };
  let r = await call(agent, 'create_checkout_session', { meta: meta({ idempotency_key: 'mcp-create-1', timestamp: new Date().toISOString() }), payload });
  const session = r;
  ok(!r.thrown && /^cs_/.test(r.id) && r.status === 'ready_for_payment' && r.line_items?.[0]?.item?.id === SKU,
    'acp binding: create_checkout_session answers the CheckoutSession as the result', r.thrown?.message || r);
  const { content, ...bare } = r;
  validAs('CheckoutSession', bare, 'acp binding: create result');
  ok(Array.isArray(content) && JSON.parse(content[0].text).id === r.id, 'acp binding: ... with the same JSON as a text content for generic clients');
  r = await call(agent, 'create_checkout_session', { meta: meta({ idempotency_key: 'mcp-create-1' }), payload });
  ok(r.id === session.id, 'acp binding: meta.idempotency_key replays the first answer (same session)', r.id);
  r = await call(agent, 'create_checkout_session', { meta: meta({ idempotency_key: 'mcp-create-1' }), payload: { ...payload, line_items: [{ id: SKU, quantity: 2 }] } });
  ok(r.thrown?.code === -32000 && r.thrown.data?.code === 'idempotency_conflict', 'acp binding: the key with another payload: -32000, data.code idempotency_conflict', r.thrown?.data);
  r = await call(agent, 'get_checkout_session', { meta: meta(), id: session.id });
  ok(r.id === session.id && r.status === 'ready_for_payment', 'acp binding: get_checkout_session', r.thrown?.message || r.status);
  r = await call(agent, 'update_checkout_session', { meta: meta(), id: session.id,
    payload: { selected_fulfillment_options: [{ type: 'shipping', option_id: 'express', item_ids: [SKU] }] } });
  const express = (r.fulfillment_options || []).find((f) => f.id === 'express');
  ok(!r.thrown && r.selected_fulfillment_options?.[0]?.option_id === 'express' && express, 'acp binding: update_checkout_session selects express delivery', r.thrown?.data || r.selected_fulfillment_options);
  // the delegated token comes from the delegate-payment API (REST; the binding leaves it to a later SEP)
  const dres = await fetch(srv.base + '/acp/agentic_commerce/delegate_payment', { method: 'POST', headers: { Authorization: `Bearer ${ACP_KEY}`, 'API-Version': '2026-04-17', 'Idempotency-Key': 'mcp-dp-1', 'Content-Type': 'application/json' },
    body: JSON.stringify({ payment_method: { type: 'card', card_number_type: 'fpan', number: '4242424242424242', exp_month: '11', exp_year: '2035', cvc: '321', display_card_funding_type: 'credit', metadata: {} },
      allowance: { reason: 'one_time', max_amount: 100000, currency: 'usd', checkout_session_id: session.id, merchant_id: 'aisle', expires_at: new Date(Date.now() + 3600e3).toISOString() }, risk_signals: [], metadata: {} }) });
  const vt = (await dres.json()).id;
  const pay = { payment_data: { handler_id: 'card_tokenized', instrument: { type: 'card', credential: { type: 'spt', token: vt } } } };
  const completeArgs = { meta: meta({ idempotency_key: 'mcp-complete-1' }), id: session.id, payload: pay };
  const both = await Promise.all([1, 2].map(() => call(agent, 'complete_checkout_session', completeArgs)));
  // the one that arrives while the other runs is told so (idempotency_in_flight, as over REST); retried, it replays
  const inFlight = both.filter((x) => x.thrown?.data?.code === 'idempotency_in_flight').length;
  for (let i = 0; i < both.length; i++) if (both[i].thrown?.data?.code === 'idempotency_in_flight') both[i] = await call(agent, 'complete_checkout_session', completeArgs);
  r = both.find((x) => x.order) || both[0];
  ok(both.every((x) => x.status === 'completed') && r.order?.id && both.every((x) => x.order?.id === r.order.id) && inFlight <= 1,
    'acp binding: complete_checkout_session twice at once with one key: one order (a call in flight is told so and replays on retry)',
    both.map((x) => x.thrown?.data || x.order));
  const { content: c2, ...done } = r;
  validAs('CheckoutSessionWithOrder', done, 'acp binding: complete result');
  const buyerToken = (await req(srv, 'POST', '/api/v1/auth/login', { body: { email: buyer, password: 'correct horse battery' } })).json.accessToken;
  const orders = (await req(srv, 'GET', '/api/v1/orders', { token: buyerToken })).json.items;
  ok(orders.length === 1 && String(orders[0].id) === r.order.id && orders[0].payment?.status === 'paid', "acp binding: the order is in the buyer's REST orders, paid", orders);
  r = await call(agent, 'create_checkout_session', { meta: meta(), payload: { line_items: [{ id: SKU }] } });
  const other = r.id;
  r = await call(agent, 'cancel_checkout_session', { meta: meta(), id: other });
  ok(r.status === 'canceled', 'acp binding: cancel_checkout_session without a payload', r.thrown?.data || r.status);
  // errors: ACP's Error in data, -32000; malformed envelopes -32602
  r = await call(agent, 'get_checkout_session', { meta: meta(), id: 'cs_0123456789abcdef0123456789abcdef' });
  ok(r.thrown?.code === -32000 && r.thrown.data?.type === 'invalid_request' && r.thrown.data.code === 'not_found', 'acp binding: an unknown session: -32000, data {type, code: not_found}', r.thrown?.data);
  if (r.thrown?.data) validAs('Error', r.thrown.data, 'acp binding: error data');
  r = await call(agent, 'get_checkout_session', { meta: { api_version: '2025-01-01' }, id: session.id });
  ok(r.thrown?.code === -32000 && r.thrown.data?.code === 'unsupported_api_version' && r.thrown.data.supported_versions?.[0] === '2026-04-17',
    'acp binding: another api_version: unsupported_api_version with supported_versions', r.thrown?.data);
  r = await call(agent, 'get_checkout_session', { id: session.id });
  ok(r.thrown?.code === -32602, 'acp binding: no meta: -32602 invalid params', r.thrown?.message);
  r = await call(agent, 'create_checkout_session', { meta: meta() });
  ok(r.thrown?.code === -32602, 'acp binding: create without payload: -32602', r.thrown?.message);
  r = await call(agent, 'get_checkout_session', { meta: meta({ timestamp: new Date(Date.now() - 3600e3).toISOString() }), id: session.id });
  ok(r.thrown?.code === -32000 && r.thrown.data?.code === 'invalid_signature', 'acp binding: meta.timestamp outside the window: refused as over REST', r.thrown?.data);
  r = await call(agent, 'add_to_cart', { sku: SKU, quantity: 1 });
  ok(refused(r, 'session-required'), 'acp binding: shopper cart tools are not the partner\'s', r);
  await agent.close();
  const shopper = await signIn(srv, 'mcp-not-a-partner@example.com');
  const { client: me } = await connect(srv, shopper);
  r = await call(me, 'get_checkout_session', { meta: meta(), id: session.id });
  ok(r.thrown?.code === -32000 && r.thrown.data?.code === 'unauthorized', "acp binding: a shopper's token cannot use the ACP tools", r.thrown?.data);
  await me.close();
  const disc = await (await fetch(srv.base + '/.well-known/acp.json')).json();
  ok(disc.transports?.includes('mcp'), 'acp binding: discovery lists the mcp transport', disc.transports);
}

// docs/agents.md's SDK example, run as written (its imports passed in,
// its URL pointed at this server): a signed-in shopper with a saved
// address and card ends with one paid order, and nothing is logged
async function docsExampleTest(srv) {
  const md = readFileSync('docs/agents.md', 'utf8');
  const at = md.indexOf('#### The official TypeScript SDK');
  const block = at < 0 ? null : /```js\n([\s\S]*?)```/.exec(md.slice(at));
  ok(block, 'docs/agents.md has the SDK example');
  if (!block) return;
  const body = block[1].split('\n').filter((l) => !/^import /.test(l)).join('\n')
    .replaceAll('http://127.0.0.1:8080', srv.base);
  const token = await signIn(srv, 'mcp-docs-example@example.com');
  await saveCheckoutFacts(srv, token);
  const logged = [];
  const AsyncFunction = (async () => {}).constructor;
  let thrown = null;
  try {
    await new AsyncFunction('Client', 'StreamableHTTPClientTransport', 'accessToken', 'console', body)(
      Client, StreamableHTTPClientTransport, token, { log: (...a) => logged.push(a.join(' ')) });
  } catch (e) { thrown = e; }
  const orders = (await req(srv, 'GET', '/api/v1/orders', { token })).json?.items || [];
  ok(!thrown && logged.length === 0 && orders.length === 1 && orders[0].payment?.status === 'paid',
    "docs/agents.md's SDK example runs as written: search, add, request and confirm place one paid order",
    { thrown: thrown && String(thrown), logged, orders });
}

async function transportTests(srv) {
  let r = await fetch(srv.base + '/mcp', { headers: { Accept: 'text/event-stream' } });
  ok(r.status === 405, 'GET /mcp: 405 (no server stream)', r.status);
  r = await raw(srv, init('2025-06-18'));
  ok(r.status === 200 && r.json?.result?.protocolVersion === '2025-06-18', 'initialize with 2025-06-18: that version is answered', r.json);
  r = await raw(srv, init('1999-01-01'));
  ok(r.status === 200 && r.json?.result?.protocolVersion === LATEST_PROTOCOL_VERSION, 'initialize with an unknown version: the latest is offered', r.json);
  const sid = r.headers.get('mcp-session-id');
  const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
  r = await raw(srv, list);
  ok(r.status === 400 && r.json?.type === 'urn:aisle:problem:mcp-session-required', 'a request without Mcp-Session-Id: 400', r.text);
  r = await raw(srv, list, { sid: '0'.repeat(32) });
  ok(r.status === 404 && r.json?.type === 'urn:aisle:problem:mcp-session-not-found', 'an unknown Mcp-Session-Id: 404', r.text);
  r = await raw(srv, list, { sid, headers: { 'MCP-Protocol-Version': '2099-01-01' } });
  ok(r.status === 400 && r.json?.type === 'urn:aisle:problem:mcp-protocol-version', 'an unsupported MCP-Protocol-Version header: 400', r.text);
  r = await raw(srv, list, { sid, headers: { 'MCP-Protocol-Version': '2025-06-18' } });
  ok(r.status === 200 && r.headers.get('content-type') === 'application/json' && r.json?.result?.tools?.length === TOOLS.length, 'tools/list over plain HTTP: one JSON answer', r.text.slice(0, 200));
  r = await raw(srv, { jsonrpc: '2.0', method: 'notifications/initialized' }, { sid });
  ok(r.status === 202 && r.text === '', 'a notification: 202 without a body', r);
  r = await raw(srv, { jsonrpc: '2.0', id: 3, method: 'prompts/list' }, { sid });
  ok(r.status === 200 && r.json?.error?.code === -32601, 'an unknown method: -32601', r.json);
  r = await raw(srv, { jsonrpc: '1.0', id: 4, method: 'ping' }, { sid });
  ok(r.status === 400 && r.json?.error?.code === -32600, 'not JSON-RPC 2.0: 400 with -32600', r.json);
  r = await raw(srv, '{"jsonrpc":"2.0","id":5,"method":', { sid });
  ok(r.status === 400 && r.json?.type === 'urn:aisle:problem:invalid-json', 'malformed JSON: 400 invalid-json, as REST', r.text);
  r = await raw(srv, [{ jsonrpc: '2.0', id: 6, method: 'ping' }], { sid });
  ok(r.status === 400, 'a batch (array): 400', r.text);
  r = await raw(srv, JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping', params: { pad: 'x'.repeat(70000) } }), { sid });
  ok(r.status === 413 && r.json?.type === 'urn:aisle:problem:payload-too-large', 'a body over the limit: 413, as REST', r.status);
  r = await raw(srv, { jsonrpc: '2.0', id: 8, method: 'ping' }, { sid, headers: { Origin: 'http://evil.example' } });
  ok(r.status === 403 && r.json?.type === 'urn:aisle:problem:origin-forbidden', 'a browser Origin not allowed: 403', r.text);
  r = await raw(srv, { jsonrpc: '2.0', id: 9, method: 'ping' }, { sid, token: 'not-a-token' });
  ok(r.status === 401, 'an invalid bearer token: 401, as REST', r.status);
  r = await raw(srv, { jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'get_product', arguments: 'sku' } }, { sid });
  ok(r.json?.error?.code === -32602, 'arguments that are not an object: -32602', r.json);
  r = await fetch(srv.base + '/mcp', { method: 'DELETE', headers: { 'Mcp-Session-Id': sid } });
  ok(r.status === 204, 'DELETE /mcp ends the session', r.status);
  await new Promise((res) => setTimeout(res, 1100));
  r = await raw(srv, list, { sid });
  ok(r.status === 404, 'the ended session is not found', r.status);
}

async function rateTests() {
  const srv = await startServer({ pipeline: 'pipelines/commerce.yaml', seed: false,
    yaml: 'limits:\n  ip_rps: 0.01\n  ip_burst: 3\n  user_rps: 1000\n  user_burst: 1000\n' });
  try {
    const st = [];
    for (let i = 0; i < 5; i++) st.push((await raw(srv, init())).status);
    const r = await raw(srv, init());
    ok(st.slice(0, 3).every((s) => s === 200) && st.slice(3).every((s) => s === 429) && r.headers.get('retry-after'),
      'the REST rate limits hold for /mcp: 429 with Retry-After past the burst', st);
  } finally { await stopServer(srv); }
}

let srv;
try {
  srv = await startServer({ pipeline: 'pipelines/commerce.yaml', yaml: CONFIG, env: { AISLE_ACP_API_KEY: ACP_KEY } });
  for (const [name, fn] of [['agent', agentTests], ['acp binding', acpBindingTests], ['docs example', docsExampleTest],
    ['transport', transportTests]]) {
    try { await fn(srv); } catch (e) { ok(false, `mcp ${name} tests ran to the end`, e.stack || String(e)); }
  }
} catch (e) {
  ok(false, 'mcp: server started', e.stack || String(e));
} finally {
  await stopServer(srv);
}
// under the sanitizer build (make check) a report lands on stderr
if (srv) ok(!/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(srv.err), 'no sanitizer report from the server', srv.err.slice(-2000));
try { await rateTests(); } catch (e) { ok(false, 'mcp rate tests ran to the end', e.stack || String(e)); }
process.exit(failed() ? 1 : 0);

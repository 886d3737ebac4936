// tests/integration/gateway/rules.mjs — merchandiser rules fail safe and
// loud on a real `aisle serve`: a veto that errors denies its action (REST
// cart), the failure is one JSON log line and a count in
// aisle_rule_errors_total{rule}; a rules file saved with a top-level error
// (or a forbidden global) is refused at hot reload with FILE:LINE and the
// previous rules keep serving; a fixed file loads again. In a chat turn,
// a failing rule is in the turn's trace (ctx.vars.ruleErrors, what the
// inspector shows) as well as in the log and the counter. Prices follow
// the product and the rules at once, whatever the engine caches: after an
// admin PUT, an `aisle import` and a rules reload, the next REST cart read
// and the next chat turn show the new price.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServer, stopServer, req, ok, sleep, tmp, metric, makeAdmin, AISLE } from './lib.mjs';

const PIPELINE = `pipeline: rules-test
version: 1
rules: [limits.lua]
intents:
  greeting: [hi, hello, good morning, hey there]
  bye: [bye, goodbye, see you]
stages:
  - { id: nlu, type: classifier, threshold: 0.1 }
  - { id: reply, type: formatter, templates: { default: "hello" } }
`;

// v1: a limit, a veto that errors when asked about 2 units (line 8), and
// one that reads ctx.cart
const RULES_V1 = `-- limits for the rules test
version = 1
on("cart.add", function(action, ctx)
  if action.qty > 3 then return deny("at most 3 per line (v1)") end
end, "max-3")
on("cart.add", function(action, ctx)
  if action.qty == 2 then
    return action.no_such_field.x
  end
end)
-- vetoes see the priced cart before the action
on("cart.add", function(action, ctx)
  if ctx.cart.count + action.qty > 3 then
    return deny("at most 3 items in the cart, you have " .. ctx.cart.count)
  end
end, "cart-max-3")
`;

// broken editions: the file's top level fails (line 4), or reaches for io (line 3)
const RULES_TOP_ERROR = `-- limits for the rules test
version = 2
local limits = nil
local max = limits.max
on("cart.add", function(action, ctx) return deny("everything (v2)") end, "max-3")
`;
const RULES_IO = `version = 2
-- the sandbox has no io
local f = io.open("limits.txt")
`;
const RULES_V3 = `version = 3
on("cart.add", function(action, ctx)
  if action.qty > 4 then return deny("at most 4 per line (v3)") end
end, "max-4")
`;

const SKU = 'MOB-AMA-AMA-099';
const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export async function ruleTests() {
  const dir = tmp();
  const file = join(dir, 'p.yaml');
  const rules = join(dir, 'limits.lua');
  writeFileSync(file, PIPELINE);
  writeFileSync(rules, RULES_V1);
  const srv = await startServer({ pipeline: file, args: ['--dev'], env: { AISLE_JWT_SECRET: '' } });
  try {
    const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    const add = (qty) => req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: { sku: SKU, qty } });

    let r = await add(5);
    ok(r.status === 409 && /at most 3 per line \(v1\)/.test(r.text), 'a rules veto denies over REST', r.text);
    r = await add(1);
    ok(r.status === 200, 'an allowed add goes through', r.text);

    // a veto that errors denies (fail closed) with a message for the shopper
    r = await add(2);
    ok(r.status === 409 && /can't be done right now/.test(r.text), 'a veto that errors denies its action', r.text);
    const cart = (await req(srv, 'GET', '/api/v1/cart', { token: anon })).json;
    const line = (cart?.items || []).find((l) => l.sku === SKU);
    ok(line && line.qty === 1, 'the denied add left the cart alone', cart);

    // ... and is loud: one JSON log line with rule id and file:line, and a counter
    let logged;
    for (let i = 0; i < 40 && !logged; i++) {
      logged = srv.err.split('\n').filter((l) => l.startsWith('{')).map((l) => { try { return JSON.parse(l); } catch { return null; } })
        .find((o) => o && o.event === 'rule_error');
      if (!logged) await sleep(25);
    }
    ok(logged && logged.rule === 'limits.lua:on:cart.add' && logged.line === 8 && /limits\.lua:8$/.test(logged.where) &&
       /attempt to index a nil value/.test(logged.message) && logged.denied === true,
       'the rule error is one JSON log line with rule id, file:line and message', logged ?? srv.err.slice(-2000));
    const m = (await req(srv, 'GET', '/metrics')).text;
    ok(metric(m, 'aisle_rule_errors_total', 'rule="limits.lua:on:cart.add"') === 1 && /# TYPE aisle_rule_errors_total counter/.test(m),
       'GET /metrics counts it in aisle_rule_errors_total{rule}', m.split('\n').filter((l) => l.includes('rule_errors')).join('\n'));

    // a veto reads ctx.cart (another shopper's cart)
    const other = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    const add2 = () => req(srv, 'POST', '/api/v1/cart/items', { token: other, body: { sku: SKU, qty: 1 } });
    const three = [await add2(), await add2(), await add2()].map((x) => x.status);
    r = await add2();
    ok(three.join() === '200,200,200' && r.status === 409 && /at most 3 items in the cart, you have 3/.test(r.text),
       'a veto sees the cart (ctx.cart.count)', { three, text: r.text });

    // hot reload: a top-level error is refused with FILE:LINE; v1 keeps serving
    const reloads = async (n) => {
      let p;
      const t0 = Date.now();
      while (Date.now() - t0 < 4000) {
        p = (await req(srv, 'GET', '/api/v1/pipelines')).json;
        if (p?.reloads?.length >= n) break;
        await sleep(25);
      }
      return p;
    };
    const before = (await req(srv, 'GET', '/api/v1/pipelines')).json?.reloads?.length ?? 1;
    writeFileSync(rules, RULES_TOP_ERROR);
    let p = await reloads(before + 1);
    let last = p?.reloads?.[p.reloads.length - 1];
    let d = (p?.diagnostics || []).find((x) => x.severity === 'error');
    ok(last && last.ok === false && d && new RegExp(`${esc(rules)}:4:\\d+`).test(d.where) && /attempt to index a nil value \(local 'limits'\)/.test(d.message),
       'a rules file whose top level fails is refused at reload with FILE:LINE', { last, d });
    ok(/"event":"pipeline_rejected".*limits\.lua:4:/.test(srv.err), 'the refused reload is logged with FILE:LINE');
    r = await add(5);
    ok(r.status === 409 && /at most 3 per line \(v1\)/.test(r.text), 'the previous rules keep serving after the refused reload', r.text);
    r = await add(1);
    ok(r.status === 200, 'the refused edition (deny everything) never went live', r.text);

    writeFileSync(rules, RULES_IO);
    p = await reloads(before + 2);
    last = p?.reloads?.[p.reloads.length - 1];
    d = (p?.diagnostics || []).find((x) => x.severity === 'error');
    ok(last && last.ok === false && d && new RegExp(`${esc(rules)}:3:\\d+`).test(d.where) && /global 'io'/.test(d.message),
       'a forbidden global at the top level is refused at reload with FILE:LINE', { last, d });

    writeFileSync(rules, RULES_V3);
    let got;
    const t0 = Date.now();
    while (Date.now() - t0 < 4000) {
      got = await add(5);
      if (/v3/.test(got.text)) break;
      await sleep(50);
    }
    ok(got.status === 409 && /at most 4 per line \(v3\)/.test(got.text), 'a fixed rules file loads again', got.text);
  } finally {
    await stopServer(srv);
  }
}

export async function ruleTraceTests() {
  const srv = await startServer({ pipeline: 'pipelines/tests/fixtures/broken-rule.yaml', args: ['--dev'], env: { AISLE_JWT_SECRET: '' } });
  try {
    const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    const r = await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: "do you have men's shoes?" } });
    ok(r.status === 200 && r.json?.reply?.text && r.json.traceId, 'a turn with failing rules still answers', r.text);
    const tr = await req(srv, 'GET', `/api/v1/traces/${encodeURIComponent(r.json?.traceId ?? '')}`);
    const errs = tr.json?.vars?.ruleErrors ?? [];
    const price = errs.find((e) => e.id === 'broken-price');
    const boost = errs.find((e) => e.id === 'broken_rule.lua:boost:search');
    ok(price && price.line === 6 && /broken_rule\.lua$/.test(price.file) && price.hook === 'price' && /attempt to index/.test(price.message) &&
       boost && boost.line === 10 && /ranking service unavailable/.test(boost.message),
       "the turn's trace lists its rule errors with id, file:line and message (the inspector's entry)", errs);
    ok(price?.stage === 'product' && boost?.stage === 'product', 'each rule error names the stage that called the rule', errs);
    // the inspector's list (GET /traces and the traces feed) carries them
    // too, so a skipped rule shows without fetching each turn's context
    const list = await req(srv, 'GET', '/api/v1/traces?limit=5');
    const item = (list.json?.items ?? []).find((t) => t.id === r.json?.traceId);
    const sum = item?.ruleErrors ?? [];
    const sp = sum.find((e) => e.id === 'broken-price');
    ok(sp && sp.line === 6 && /broken_rule\.lua$/.test(sp.file) && sp.stage === 'product' && /attempt to index/.test(sp.message) &&
       sum.some((e) => e.id === 'broken_rule.lua:boost:search') && !('fallbacks' in item),
       'the trace summary lists the turn\'s rule errors (id, file, line, stage, message), no fallbacks when none were taken', item);
    const clean = await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'tell me a joke' } });
    const cl = (await req(srv, 'GET', '/api/v1/traces?limit=5')).json?.items?.find((t) => t.id === clean.json?.traceId);
    ok(cl && !('ruleErrors' in cl), 'a turn whose rules did not run or fail has no ruleErrors in its summary', cl);
    const m = (await req(srv, 'GET', '/metrics')).text;
    ok(metric(m, 'aisle_rule_errors_total', 'rule="broken-price"') >= 1 && metric(m, 'aisle_rule_errors_total', 'rule="broken_rule.lua:boost:search"') >= 1,
       'chat-turn rule errors are counted too', m.split('\n').filter((l) => l.includes('rule_errors')).join('\n'));
    ok(/"event":"rule_error".*"rule":"broken-price"/.test(srv.err), 'chat-turn rule errors are logged too', srv.err.slice(-1500));
  } finally {
    await stopServer(srv);
  }
}

const PRICE_PIPELINE = `pipeline: prices-test
version: 1
rules: [prices.lua]
intents:
  view_cart: [show my cart, what is in my cart, my cart please, what's in my basket]
  greeting: [hi, hello, good morning, hey there]
stages:
  - { id: nlu, type: classifier, threshold: 0.1 }
  - { id: ctx, type: context }
  - { id: reply, type: formatter, templates: { default: "total {{cart.total | money}}" } }
`;
const PRICES_V1 = `version = 1
price("lamps-10", function(p, ctx)
  if p.category == "lighting" then return { percent = 10, reason = "10% off lamps" } end
end)
`;
const PRICES_V2 = `version = 2
price("lamps-50", function(p, ctx)
  if p.category == "lighting" then return { percent = 50, reason = "half price lamps" } end
end)
`;

export async function priceFreshnessTests() {
  const dir = tmp();
  const file = join(dir, 'p.yaml');
  const rules = join(dir, 'prices.lua');
  writeFileSync(file, PRICE_PIPELINE);
  writeFileSync(rules, PRICES_V1);
  const srv = await startServer({ pipeline: file });
  try {
    const admin = await makeAdmin(srv, 'admin@example.com');
    const lamp = { sku: 'LAMP-FRESH', title: 'Fresh Lamp', brand: 'Acme', category: 'lighting', price: 20, stock: 50 };
    let r = await req(srv, 'POST', '/api/v1/products', { token: admin.accessToken, body: lamp });
    ok(r.status === 201, 'prices: the admin creates a lamp', r.text);
    const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json.sessionToken;
    r = await req(srv, 'POST', '/api/v1/cart/items', { token: anon, body: { sku: lamp.sku, qty: 2 } });
    ok(r.status === 200, 'prices: two lamps in the cart', r.text);
    // what the shopper sees: the REST cart read, then a chat turn
    const seen = async () => {
      const cart = (await req(srv, 'GET', '/api/v1/cart', { token: anon })).json;
      const chat = (await req(srv, 'POST', '/api/v1/chat', { token: anon, body: { text: 'what is in my cart' } })).json;
      // the product page and the search as anyone reads them (priced
      // without a turn once the rules are known to read only the card)
      const page = (await req(srv, 'GET', `/api/v1/products/${lamp.sku}`)).json;
      const found = (await req(srv, 'GET', '/api/v1/products?q=fresh+lamp')).json?.items?.find((i) => i.sku === lamp.sku);
      return { total: cart?.total, line: cart?.items?.[0]?.finalPrice, chat: chat?.reply?.text,
               page: page?.finalPrice, pagePrice: page?.price, search: found?.finalPrice };
    };
    let s = await seen();
    ok(s.total === 36 && s.line === 18 && s.chat === 'total 36.00' && s.page === 18 && s.search === 18, 'prices: cart, chat, product page and search show the rule price', s);
    s = await seen();
    ok(s.total === 36 && s.chat === 'total 36.00' && s.page === 18 && s.search === 18, 'prices: the same again', s);
    r = await req(srv, 'PUT', `/api/v1/products/${lamp.sku}`, { token: admin.accessToken, body: { ...lamp, price: 30 } });
    ok(r.status === 200, 'prices: the admin changes the price', r.text);
    s = await seen();
    ok(s.total === 54 && s.line === 27 && s.chat === 'total 54.00' && s.page === 27 && s.pagePrice === 30 && s.search === 27,
       'prices: the next cart read, chat turn, product page and search show the new product price', s);
    const cat = join(dir, 'import.json');
    writeFileSync(cat, JSON.stringify([{ ...lamp, price: 40 }]));
    const imp = spawnSync(AISLE, ['import', '--catalog', cat, '--db', join(srv.dir, 'aisle.db')], { encoding: 'utf8' });
    ok(imp.status === 0, 'prices: `aisle import` updates the lamp', imp.stderr);
    s = await seen();
    ok(s.total === 72 && s.line === 36 && s.chat === 'total 72.00' && s.page === 36 && s.pagePrice === 40 && s.search === 36,
       'prices: an import by another process shows at once, on the product page and in search too', s);
    writeFileSync(rules, PRICES_V2);
    const t0 = Date.now();
    do {
      await sleep(50);
      s = await seen();
    } while (s.total !== 40 && Date.now() - t0 < 5000);
    ok(s.total === 40 && s.line === 20 && s.chat === 'total 40.00' && s.page === 20 && s.search === 20,
       'prices: after a rules reload cart, chat, product page and search price with the new rules', s);
    s = await seen();
    ok(s.page === 20 && s.search === 20, 'prices: and again, from what is kept', s);
  } finally {
    await stopServer(srv);
  }
}

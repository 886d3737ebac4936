// tests/integration/conversations_serve/expect.mjs — the expectations of a
// conversation test file (the keys cli/test_expect.c knows, with the same
// meaning) checked against what a real `aisle serve` sends: the reply
// frame of the WebSocket chat (text, cards, intent, actions, cart,
// suggestions), the turn's trace (GET /api/v1/traces/{id}: vars, ctx,
// route, rule errors) and, after the conversation, the REST API (orders,
// stock) and the audit table. Each mismatch is one "expected X, got Y"
// line, as `aisle test` prints it; an unknown key is a mismatch.

const isNum = (v) => typeof v === 'number';
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// A value as the diff shows it: compact JSON, long ones cut.
export function show(v) {
  if (v === undefined || v === null) return 'null';
  if (isNum(v)) return String(Number(v.toPrecision(10)));
  const s = JSON.stringify(v);
  return s.length > 390 ? s.slice(0, 390) + '...' : s;
}

// Deep, partial match, as test_expect.c: objects need only the expected
// keys, arrays match element by element, numbers within half a cent,
// strings exactly (a number matches its decimal text: order ids, skus).
export function match(want, got) {
  if (want === null || want === undefined) return got === null || got === undefined;
  if (got === null || got === undefined) return false;
  if (typeof want === 'boolean') return typeof got === 'boolean' && got === want;
  if (isNum(want)) return isNum(got) && Math.abs(got - want) < 0.005;
  if (typeof want === 'string') return (typeof got === 'string' || isNum(got)) && String(got) === want;
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return false;
    return want.every((w, i) => match(w, got[i]));
  }
  if (isObj(want)) {
    if (!isObj(got)) return false;
    return Object.entries(want).every(([k, v]) => match(v, got[k]));
  }
  return false;
}

// A scalar or a list of them, as a list.
const items = (v) => (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]);

// rule_id -> ruleId: test files use snake_case, the context camelCase.
const camel = (k) => k.replace(/_(.)/g, (_, c) => c.toUpperCase());

// ctx path "cart.items.0.sku" (numeric parts index arrays).
export function path(root, p) {
  let cur = root;
  for (const part of String(p).split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined;
      cur = cur[Number(part)];
    } else if (isObj(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

const str0 = (o, p) => {
  const v = path(o, p);
  return v === null || v === undefined ? '' : String(v);
};

function fields(bad, what, want, got, skip = []) {
  for (const [k, v] of Object.entries(want)) {
    if (skip.includes(k)) continue;
    const g = path(got, camel(k));
    if (!match(v, g)) bad(`${what}.${k}: expected ${show(v)}, got ${show(g)}`);
  }
}

function hasRuleIn(list, id) {
  for (const x of Array.isArray(list) ? list : []) {
    if (str0(x, 'id') === id) return true;
    for (const a of Array.isArray(x?.appliedRules) ? x.appliedRules : []) if (str0(a, 'id') === id) return true;
  }
  return false;
}

// Every rule id the turn shows: on cards, cart lines, cart discounts and
// vetoed actions — all of it in the reply frame.
function ruleSeen(view, id) {
  if (hasRuleIn(view.cards, id) || hasRuleIn(view.cart?.items, id) || hasRuleIn(view.cart?.discounts, id)) return true;
  return (Array.isArray(view.actions) ? view.actions : []).some((a) => a?.ruleId === id);
}

function checkCard(bad, cards, want) {
  const n = want.n !== undefined ? Number(want.n) : 1;
  const what = `card ${n}`;
  const got = n >= 1 && Array.isArray(cards) ? cards[n - 1] : undefined;
  if (!got) return bad(`${what}: expected a card, got ${Array.isArray(cards) ? cards.length : 0} cards`);
  fields(bad, what, want, got, ['n', 'title_contains', 'applied_rules']);
  if (want.title_contains !== undefined && !String(got.title ?? '').includes(String(want.title_contains)))
    bad(`${what}.title: expected to contain "${want.title_contains}", got "${got.title}"`);
  for (const id of items(want.applied_rules))
    if (!hasRuleIn([got], String(id))) bad(`${what}.appliedRules: expected ${id}, got ${show(got.appliedRules)}`);
}

function checkCart(bad, want, cart) {
  if (!isObj(want)) return bad('cart: expected a mapping in the test file');
  if (!isObj(cart)) return bad(`cart: expected ${show(want)}, got no cart in the reply frame`);
  fields(bad, 'cart', want, cart, ['items', 'lines', 'discounts']);
  const lines = Array.isArray(cart.items) ? cart.items : [];
  if (want.lines !== undefined && Number(want.lines) !== lines.length)
    bad(`cart.lines: expected ${want.lines}, got ${lines.length}`);
  items(want.items).forEach((w, i) => {
    const sku = w?.sku !== undefined ? String(w.sku) : null;
    const g = sku !== null ? lines.find((l) => str0(l, 'sku') === sku) : lines[i];
    const what = `cart.items[${sku ?? ''}]`;
    if (!g) return bad(`${what}: expected a line ${show(w)}, got ${show(cart.items)}`);
    fields(bad, what, w, g, ['title_contains', 'applied_rules']);
    if (w.title_contains !== undefined && !String(g.title ?? '').includes(String(w.title_contains)))
      bad(`${what}.title: expected to contain "${w.title_contains}", got "${g.title}"`);
    for (const id of items(w.applied_rules))
      if (!hasRuleIn(g.appliedRules, String(id))) bad(`${what}.appliedRules: expected ${id}, got ${show(g.appliedRules)}`);
  });
  const ds = cart.discounts;
  if (want.discounts !== undefined && items(want.discounts).length === 0 && Array.isArray(ds) && ds.length)
    bad(`cart.discounts: expected none, got ${show(ds)}`);
  for (const id of items(want.discounts))
    if (!hasRuleIn(ds, String(id))) bad(`cart.discounts: expected ${id}, got ${show(ds)}`);
}

function actionMatches(w, g) {
  return Object.entries(w).every(([k, v]) => {
    const gv = path(g, camel(k));
    if (k === 'message' && typeof v === 'string') return gv !== undefined && gv !== null && String(gv).includes(v);
    return match(v, gv);
  });
}

function checkActions(bad, want, acts) {
  const got = Array.isArray(acts) ? acts : [];
  if (items(want).length === 0) {
    if (got.length) bad(`actions: expected none, got ${show(got)}`);
    return;
  }
  const used = new Set();
  for (const w of items(want)) {
    const k = got.findIndex((g, i) => !used.has(i) && actionMatches(w, g));
    if (k >= 0) { used.add(k); continue; }
    const brief = got.map((a) => `{type: ${a?.type}, status: ${a?.status}${a?.message ? ', message: ' + a.message : ''}}`).join(', ');
    bad(`actions: expected ${show(w)}, got [${brief}]`);
  }
}

// The keys that need the turn's whole context, which only the trace has.
export const CTX_KEYS = ['vars', 'ctx', 'route', 'rule_errors'];

// view: {text, cards, intent, actions, cart, suggestions, needsLogin,
// confirmation, uiActions} from the reply
// frame; getCtx(): the turn context from the trace (async, may throw),
// null for a replayed answer. Returns the mismatch lines.
export async function checkTurn(expect, view, getCtx) {
  const out = [];
  const bad = (s) => out.push(s);
  const reply = String(view.text ?? '');
  const cards = Array.isArray(view.cards) ? view.cards : [];
  let ctx;
  const needCtx = async () => {
    if (ctx === undefined) {
      try { ctx = await getCtx(); } catch (e) { ctx = null; bad(`trace: cannot read the turn's context: ${e.message}`); }
    }
    return ctx;
  };
  for (const [key, want] of Object.entries(expect)) {
    // as `aisle test`: a replayed answer comes from the first result and
    // ran no turn, so there is no context of its own to look into
    if (!getCtx && CTX_KEYS.includes(key)) {
      bad(`${key}: a replayed message has no turn context to check`);
      continue;
    }
    if (key === 'intent' || key === 'route') {
      const got = key === 'intent' ? view.intent : path(await needCtx(), 'route');
      if (!items(want).some((w) => got !== undefined && got !== null && String(got) === String(w)))
        bad(`${key}: expected ${show(want)}, got ${got ?? 'none'}`);
    } else if (key === 'reply_contains' || key === 'reply_not_contains') {
      const contains = key === 'reply_contains';
      for (const s of items(want))
        if (reply.includes(String(s)) !== contains) bad(`reply: expected ${contains ? '' : 'no '}"${s}"`);
    } else if (key === 'reply_matches') {
      for (const pat of items(want)) {
        let re;
        try { re = new RegExp(String(pat)); } catch { bad(`reply_matches: "${pat}" is not a valid regular expression`); continue; }
        if (!re.test(reply)) bad(`reply: expected to match /${pat}/`);
      }
    } else if (key === 'cards' || key === 'cards_min' || key === 'cards_max') {
      const n = Number(want);
      const okc = key === 'cards' ? cards.length === n : key === 'cards_min' ? cards.length >= n : cards.length <= n;
      if (!okc) bad(`${key}: expected ${n}, got ${cards.length} cards`);
    } else if (key === 'card_prices_max' || key === 'card_prices_min') {
      const lim = Number(want);
      const max = key === 'card_prices_max';
      cards.forEach((cd, i) => {
        const p = Number(cd?.finalPrice ?? 0);
        if (max ? p > lim + 0.005 : p < lim - 0.005)
          bad(`card ${i + 1} (${cd?.sku}): finalPrice ${p.toFixed(2)} is ${max ? 'above' : 'below'} ${lim.toFixed(2)}`);
      });
    } else if (key === 'cards_include' || key === 'cards_exclude' || key === 'cards_order') {
      let last = -1;
      const before = out.length;
      for (const w of items(want)) {
        const sku = String(w);
        const at = cards.findIndex((c) => str0(c, 'sku') === sku);
        if (key === 'cards_exclude' ? at >= 0 : at < 0) bad(`${key}: ${sku} is ${at >= 0 ? '' : 'not '}shown`);
        else if (key === 'cards_order' && at <= last) bad(`cards_order: ${sku} is card ${at + 1}, before the previous one`);
        if (at >= 0) last = at;
      }
      if (out.length > before && key !== 'cards_exclude') out.push(`  cards shown: [${cards.map((c) => c?.sku).join(', ')}]`);
    } else if (key === 'card_titles_contain') {
      for (const s of items(want))
        if (!cards.some((c) => str0(c, 'title').includes(String(s)))) bad(`cards: expected a title containing "${s}"`);
    } else if (key === 'card_titles_not_contain') {
      for (const s of items(want)) {
        const c = cards.find((c) => str0(c, 'title').includes(String(s)));
        if (c) bad(`cards: expected no title containing "${s}", got "${str0(c, 'title')}"`);
      }
    } else if (key === 'card') {
      for (const w of items(want)) checkCard(bad, cards, w);
    } else if (key === 'applied_rules' || key === 'not_applied_rules') {
      const wantSeen = key === 'applied_rules';
      for (const id of items(want))
        if (ruleSeen(view, String(id)) !== wantSeen)
          bad(`rule ${id}: expected ${wantSeen ? 'applied' : 'not applied'}, got ${wantSeen ? 'not applied' : 'applied'}`);
    } else if (key === 'cart') {
      checkCart(bad, want, view.cart);
    } else if (key === 'actions') {
      checkActions(bad, want, view.actions);
    } else if (key === 'needs_login') {
      if (Boolean(view.needsLogin) !== Boolean(want)) bad(`needs_login: expected ${Boolean(want)}, got ${Boolean(view.needsLogin)}`);
    } else if (key === 'confirmation') {
      // the kind of question the reply frame leaves open; null: none
      const kind = view.confirmation?.kind ?? null;
      if ((want ?? null) !== kind) bad(`confirmation: expected ${want ?? 'none'}, got ${kind ?? 'none'}`);
    } else if (key === 'ui_actions') {
      const got = (Array.isArray(view.uiActions) ? view.uiActions : []).map((a) => a?.type);
      const w = items(want).map(String);
      if (got.length !== w.length || got.some((t, i) => t !== w[i])) bad(`ui_actions: expected ${show(w)}, got ${show(got)}`);
    } else if (key === 'suggestions_contain') {
      const sg = Array.isArray(view.suggestions) ? view.suggestions : [];
      for (const s of items(want))
        if (!sg.some((x) => String(x).includes(String(s)))) bad(`suggestions: expected one containing "${s}", got ${show(sg)}`);
    } else if (key === 'vars' || key === 'ctx') {
      if (!isObj(want)) { bad(`${key}: expected a mapping in the test file`); continue; }
      const c = await needCtx();
      if (c === null) continue;
      const base = key === 'vars' ? path(c, 'vars') : c;
      for (const [k, v] of Object.entries(want)) {
        const g = path(base, k);
        if (!match(v, g)) bad(`${key}.${k}: expected ${show(v)}, got ${show(g)}`);
      }
    } else if (key === 'rule_errors') {
      const c = await needCtx();
      if (c === null) continue;
      const errs = Array.isArray(path(c, 'vars.ruleErrors')) ? path(c, 'vars.ruleErrors') : [];
      if (isNum(want)) {
        if (errs.length !== want) bad(`rule_errors: expected ${want}, got ${show(errs)}`);
      } else {
        for (const id of items(want))
          if (!errs.some((e) => str0(e, 'id') === String(id) || str0(e, 'file') === String(id)))
            bad(`rule_errors: expected ${id} to fail, got ${show(errs)}`);
      }
    } else {
      bad(`unknown expectation "${key}" (see docs/testing.md)`);
    }
  }
  return out;
}

// after: the mapping checked when the conversation ends. src gives what
// the server holds: orders() -> [order JSON from GET /orders/{id}] of the
// users the conversation logged in as; product(sku) -> Product or null;
// audit() -> [{id, time, actor, action, subject, detail}], newest first.
export async function checkAfter(after, src) {
  const out = [];
  const bad = (s) => out.push(s);
  let audit;
  for (const [key, want] of Object.entries(after)) {
    if (key === 'orders') {
      const all = await src.orders();
      const cnt = isNum(want) ? want : isObj(want) ? want.count : undefined;
      if (cnt !== undefined && all.length !== Number(cnt)) bad(`orders: expected ${cnt}, got ${all.length}`);
      if (isObj(want)) {
        // status, total and contains: the newest order of the conversation
        const o = all.reduce((a, b) => (!a || Number(b.id) > Number(a.id) ? b : a), null);
        if ((want.status !== undefined || want.total !== undefined || want.contains !== undefined) && !o)
          bad('orders: expected an order, got none');
        if (o && want.status !== undefined && o.status !== String(want.status))
          bad(`orders.status: expected ${want.status}, got ${o.status}`);
        if (o && want.total !== undefined && !(Math.abs(Number(o.total) - Number(want.total)) < 0.005))
          bad(`orders.total: expected ${Number(want.total).toFixed(2)}, got ${Number(o.total).toFixed(2)}`);
        // the CLI looks into the stored pricing; the server shows it as the
        // order's discounts and lines' appliedRules
        const text = o ? JSON.stringify(o) : '';
        for (const s of items(want.contains))
          if (o && !text.includes(String(s))) bad(`orders: expected the order to mention "${s}", got ${text.slice(0, 300)}`);
      }
    } else if (key === 'stock') {
      if (!isObj(want)) { bad('stock: expected a mapping of sku to stock'); continue; }
      for (const [sku, v] of Object.entries(want)) {
        const p = await src.product(sku);
        if (!p) bad(`stock.${sku}: no such product`);
        else if (Number(p.stock) !== Number(v)) bad(`stock.${sku}: expected ${v}, got ${p.stock}`);
      }
    } else if (key === 'audit_contains' || key === 'audit_count') {
      if (!audit) audit = await src.audit();
      if (key === 'audit_contains') {
        for (const w of items(want)) {
          const okA = audit.some((e) => {
            const js = JSON.stringify(e);
            if (typeof w === 'string') return e.action === w || js.includes(w);
            return (w.action === undefined || e.action === String(w.action)) &&
              (w.subject === undefined || e.subject === String(w.subject)) &&
              (w.contains === undefined || js.includes(String(w.contains)));
          });
          if (!okA) bad(`audit: expected an event ${show(w)}, got ${audit.length} events`);
        }
      } else {
        if (!isObj(want)) { bad('audit_count: expected a mapping of action to count'); continue; }
        for (const [act, v] of Object.entries(want)) {
          const n = audit.filter((e) => e.action === act).length;
          if (n !== Number(v)) bad(`audit_count.${act}: expected ${v}, got ${n}`);
        }
      }
    } else {
      bad(`unknown after-conversation check "${key}" (see docs/testing.md)`);
    }
  }
  return out;
}

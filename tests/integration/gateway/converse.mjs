// tests/integration/gateway/converse.mjs — the conversation driver behind
// `aisle serve`: one clientMsgId sent 50 times at once (over WebSocket and
// over REST) runs one turn, and every copy gets the first answer; the
// session counts turns on the server as `aisle test` does, so a "yes"
// after a cancelled order places nothing again.
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ok, skip, req, wsOpen, metric, startServer, stopServer, saveCheckoutFacts } from './lib.mjs';
import { register } from './rest.mjs';

const N = 50;

// the history the store kept for a session, oldest first (read from the
// server's SQLite file: no endpoint shows it)
function history(srv, sid) {
  const r = spawnSync('sqlite3', ['-json', join(srv.dir, 'aisle.db'),
    `SELECT turn FROM history WHERE sid = '${sid.replace(/'/g, "''")}' ORDER BY seq`], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return (r.stdout.trim() ? JSON.parse(r.stdout) : []).map((row) => JSON.parse(row.turn));
}

// a POST on a connection of its own (fetch would queue a burst on a few
// pooled connections, and the copies would not overlap)
function postAlone(srv, path, token, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const q = http.request({ host: '127.0.0.1', port: srv.port, path, method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), Authorization: `Bearer ${token}` } },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, text, json });
      });
    });
    q.on('error', (e) => resolve({ status: 0, text: String(e), json: null }));
    q.end(data);
  });
}

const qtyOf = (cart, sku) => cart?.items?.find((l) => l.sku === sku)?.qty ?? 0;

// a message sent n times at once; `send(i)` resolves to the answer
async function burst(send) {
  return Promise.all(Array.from({ length: N }, (_, i) => send(i)));
}

function sameAnswer(answers, get) {
  const texts = new Set(answers.map((a) => get(a)?.text));
  const traces = new Set(answers.map((a) => get(a)?.traceId));
  return answers.length > 0 && texts.size === 1 && traces.size === 1 && !!get(answers[0])?.traceId;
}

async function wsDuplicates(srv) {
  const first = await wsOpen(srv);
  const sess = await first.next((f) => f.type === 'session');
  await first.next((f) => f.type === 'hello');
  first.sendJson({ type: 'message', text: 'show me mascara', clientMsgId: 'w-1' });
  const shown = await first.next((f) => (f.type === 'reply' || f.type === 'error') && f.clientMsgId === 'w-1', 8000);
  const sku = shown?.cards?.[0]?.sku;
  ok(sku, 'ws: a product is shown before the duplicated add', shown);
  // 50 sockets of one session, each sending the same message at once
  const socks = await Promise.all(Array.from({ length: N }, () => wsOpen(srv, sess.sessionToken)));
  await Promise.all(socks.map((s) => s.next((f) => f.type === 'hello')));
  const t0 = metric((await req(srv, 'GET', '/metrics')).text, 'aisle_turns_total');
  const answers = await burst((i) => {
    socks[i].sendJson({ type: 'message', text: 'add it to my cart', clientMsgId: 'w-dup' });
    return socks[i].next((f) => (f.type === 'reply' || f.type === 'error') && f.clientMsgId === 'w-dup', 15000);
  });
  const replies = answers.filter((a) => a?.type === 'reply');
  ok(replies.length === N, `ws: all ${N} sends of one clientMsgId are answered with a reply`,
    answers.filter((a) => a?.type !== 'reply').slice(0, 3));
  ok(sameAnswer(replies, (a) => a), 'ws: every copy gets the same answer (one reply text, one traceId)',
    [...new Set(replies.map((a) => `${a.traceId} ${a.text}`))].slice(0, 5));
  ok(replies.filter((a) => !a.replayed).length === 1, 'ws: exactly one copy ran, the rest are marked replayed',
    replies.filter((a) => !a.replayed).length);
  const t1 = metric((await req(srv, 'GET', '/metrics')).text, 'aisle_turns_total');
  ok(t1 === t0 + 1, 'ws: one turn ran for the 50 copies (aisle_turns_total)', { before: t0, after: t1 });
  const h = history(srv, sess.sessionId);
  ok(h && h.filter((e) => e.messageId === 'w-dup').length === 1 && h.length === 2,
    'ws: the session history has one entry for the message', h);
  const cart = (await req(srv, 'GET', '/api/v1/cart', { token: sess.sessionToken })).json;
  ok(qtyOf(cart, sku) === 1, 'ws: "add it" was applied once (quantity 1)', cart);
  for (const s of [first, ...socks]) s.close();
}

async function restDuplicates(srv) {
  const anon = (await req(srv, 'POST', '/api/v1/auth/anonymous')).json;
  const tok = anon?.sessionToken || anon?.token || anon?.accessToken;
  ok(tok, 'rest: an anonymous session', anon);
  const chat = (text, clientMsgId) => req(srv, 'POST', '/api/v1/chat', { token: tok, body: { text, clientMsgId } });
  const shown = (await chat('show me mascara', 'r-1')).json;
  const sku = shown?.reply?.cards?.[0]?.sku;
  ok(sku, 'rest: a product is shown before the duplicated add', shown);
  const sid = shown?.sessionId;
  const answers = await burst(() => postAlone(srv, '/api/v1/chat', tok, { text: 'add it to my cart', clientMsgId: 'r-dup' }));
  const good = answers.filter((r) => r.status === 200);
  ok(good.length === N, `rest: all ${N} posts of one clientMsgId answer 200`,
    answers.filter((r) => r.status !== 200).slice(0, 3).map((r) => r.text));
  ok(sameAnswer(good, (r) => ({ text: r.json?.reply?.text, traceId: r.json?.traceId })),
    'rest: every copy gets the same reply object (one reply text, one traceId)',
    [...new Set(good.map((r) => `${r.json?.traceId} ${r.json?.reply?.text}`))].slice(0, 5));
  ok(new Set(good.map((r) => r.text)).size === 1, 'rest: the 50 bodies are identical', good.length);
  const h = sid ? history(srv, sid) : null;
  ok(h && h.filter((e) => e.messageId === 'r-dup').length === 1 && h.length === 2,
    'rest: the session history has one entry for the message', h);
  const cart = (await req(srv, 'GET', '/api/v1/cart', { token: tok })).json;
  ok(qtyOf(cart, sku) === 1, 'rest: "add it" was applied once (quantity 1)', cart);
}

async function noReplacedOrder(srv) {
  const u = (await register(srv, 'erin@example.com')).json;
  await saveCheckoutFacts(srv, u?.accessToken);
  const ws = await wsOpen(srv, u?.accessToken);
  await ws.next((f) => f.type === 'hello');
  const texts = [];
  const say = async (text, id) => {
    ws.sendJson({ type: 'message', text, clientMsgId: id });
    const f = await ws.next((x) => (x.type === 'reply' || x.type === 'error') && x.clientMsgId === id, 8000);
    texts.push(`${text} -> ${f?.text ?? JSON.stringify(f)}`);
    return f;
  };
  await say('show me mascara', 'o-1');
  await say('add it to my cart', 'o-2');
  await say('checkout', 'o-3');
  const placed = await say('yes', 'o-4');
  ok(/is placed/.test(placed?.text ?? ''), 'signed in: checkout -> yes places the order', texts);
  const cancel = await say('cancel my order', 'o-5');
  const after = await say('yes', 'o-6');
  ok(cancel?.type === 'reply' && after?.type === 'reply' && !/is placed/i.test(after.text) && !/is placed/i.test(cancel.text),
    'signed in: checkout -> yes -> cancel my order -> yes never says the order is placed again', texts);
  const again = await say('yes', 'o-7');
  ok(again?.type === 'reply' && !/is placed/i.test(again.text), 'a later "yes" does not place or report an order either', texts);
  const orders = (await req(srv, 'GET', '/api/v1/orders', { token: u.accessToken })).json;
  ok(orders?.items?.length === 1, 'one order in all', orders);
  ws.close();
}

export async function converseTests() {
  if (!existsSync('pipelines/commerce.yaml')) {
    ok(false, 'conversation driver over the server', 'pipelines/commerce.yaml is missing: the shipped pipeline is what this checks');
    return;
  }
  if (spawnSync('sqlite3', ['-version']).status !== 0) {
    skip('conversation driver over the server', 'the sqlite3 command is not installed');
    return;
  }
  // the test hook holds every turn 150 ms before it starts: copies that
  // checked for a first answer and then ran would all run
  const srv = await startServer({
    pipeline: 'pipelines/commerce.yaml',
    env: { AISLE_TEST_HOOKS: '1', AISLE_TEST_TURN_DELAY_MS: '150' },
    yaml: 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\nhttp:\n  max_conns_per_ip: 0\n',
  });
  try {
    await wsDuplicates(srv);
    await restDuplicates(srv);
    await noReplacedOrder(srv);
    ok(!srv.exited, 'the server survived the duplicate bursts', srv.exited);
  } finally { await stopServer(srv); }
}

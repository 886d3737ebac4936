// tests/integration/conversations_serve/main.mjs — the conversation tests
// of pipelines/tests (or the files and folders given) played against a
// real `aisle serve`, not in-process: every conversation gets its own
// server on a free loopback port with a temporary SQLite file seeded with
// the file's catalog, and its turns go over the WebSocket chat in a fresh
// anonymous session. `user:` and `login:` register (or log in) through
// REST /api/v1/auth with the session's token, as the chat page does, and
// reconnect the socket with the access token; `logout:` goes back to the
// session token. Expectations are those of cli/test_expect.c (expect.mjs),
// read from the reply frames; the context-only keys (vars, ctx, route,
// rule_errors) from the turn's trace, read by an admin account.
// Limits: `memory:` has no API that writes it, so it is put into the
// SQLite file directly; the CLI's session id "test" (as in "anon:test") is
// this session's id. Prints "ok FILE: NAME" / "not ok FILE: NAME" with
// what differed under it; AISLE_CONV_JOBS servers run at once (4).
// A development set, whose turns need not all pass (`--min-pass PCT`
// FILE...; without paths, tests/integration/data/understanding_dev.yaml at
// 90%), is one "ok"/"not ok" line with its turn pass rate; its
// conversations are listed under it, indented.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { cpus } from 'node:os';
import { parseDocument, LineCounter, isMap, isSeq } from 'yaml';
import { startServer, stopServer, req, wsOpen, makeAdmin } from '../gateway/lib.mjs';
import { sql, sqlStr, auditEntries, cleanEnv } from '../gateway/stores.mjs';
import { checkTurn, checkAfter } from './expect.mjs';

const PASSWORD = 'conversation-test-password';
const ADMIN = 'inspector@conversations.test';
const CONFIG = `limits:\n  ip_rps: 10000\n  ip_burst: 10000\n  user_rps: 10000\n  user_burst: 10000\n`;
const TURN_MS = Number(process.env.AISLE_CONV_TURN_MS || 15000);
const JOBS = Math.max(1, Number(process.env.AISLE_CONV_JOBS || Math.min(4, cpus().length)));

// ---- test files ----

const yamlName = (n) => /\.ya?ml$/.test(n);

// a file, or every *.yaml under a folder, in name order; `walked` files
// without `conversations:` (pipelines, fixtures) are not tests
function listFiles(p, depth = 0, out = []) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) { out.push({ file: p, missing: true }); return out; }
  if (!st.isDirectory()) {
    if (depth === 0 || yamlName(p)) out.push({ file: p, walked: depth > 0 });
    return out;
  }
  if (depth > 8) return out;
  for (const n of readdirSync(p).filter((n) => !n.startsWith('.')).sort()) listFiles(join(p, n), depth + 1, out);
  return out;
}

// the conversations of a file with their lines, or {error}
function readTests({ file, walked, missing }) {
  if (missing) return { error: `${file}: no such file or folder` };
  const lc = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc, uniqueKeys: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    return { error: `${file}:${e.linePos?.[0]?.line ?? 1}:${e.linePos?.[0]?.col ?? 1}: error: ${e.message}` };
  }
  const root = doc.toJS();
  if (!root || typeof root !== 'object' || Array.isArray(root))
    return { error: `${file}:1:1: error: a test file is a mapping with pipeline, catalog and conversations` };
  if (walked && !('conversations' in root)) return { skip: true };
  if (typeof root.pipeline !== 'string' || !Array.isArray(root.conversations))
    return { error: `${file}:1:1: error: a test file needs \`pipeline:\` and \`conversations:\` (a list)` };
  const line = (node) => (node?.range ? lc.linePos(node.range[0]).line : 0);
  const convNodes = doc.get('conversations', true);
  const convs = root.conversations.map((c, i) => {
    const node = isSeq(convNodes) ? convNodes.items[i] : null;
    const turnNodes = isMap(node) ? node.get('turns', true) : null;
    const turnLines = isSeq(turnNodes) ? turnNodes.items.map(line) : [];
    const afterNode = isMap(node) ? node.get('after', true) : null;
    return { ...c, __line: line(node), __turnLines: turnLines, __afterLine: line(afterNode) };
  });
  const rel = (p) => (p.startsWith('/') ? p : join(dirname(file), p));
  return { pipeline: rel(root.pipeline), catalog: typeof root.catalog === 'string' ? rel(root.catalog) : null, convs };
}

// ---- one conversation against its own server ----

// the CLI's conversations run in session "test": its cart is "anon:test"
function localise(v, sid) {
  if (typeof v === 'string') return v === 'anon:test' ? `anon:${sid}` : v;
  if (Array.isArray(v)) return v.map((x) => localise(x, sid));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, localise(x, sid)]));
  return v;
}

const oneLine = (s) => String(s ?? '').replace(/\n/g, '\n        ');

async function runConversation(t, conv, idx) {
  const name = conv.name ?? `conversation ${idx + 1}`;
  const lines = [];
  let fails = 0;
  const fail = (s) => { fails++; lines.push(s); };
  // turns played and the ones that failed, for a pass rate
  const said = Array.isArray(conv.turns) ? conv.turns.filter((x) => x && x.say !== undefined && x.say !== null).length : 0;
  let turnsRun = 0;
  const badTurns = new Set();
  let srv;
  let ws;
  try {
    srv = await startServer({ yaml: CONFIG, pipeline: t.pipeline, seed: false, args: t.catalog ? ['--seed-catalog', t.catalog] : [] });
    const db = join(srv.dir, 'aisle.db');
    const anon = await req(srv, 'POST', '/api/v1/auth/anonymous');
    if (anon.status !== 201) throw new Error(`POST /auth/anonymous: ${anon.status} ${anon.text}`);
    const { sessionId, sessionToken } = anon.json;
    const users = new Map(); // email -> tokens
    let token = sessionToken;
    let admin;
    const traceCtx = async (id) => {
      if (!admin) {
        admin = (await makeAdmin(srv, ADMIN, PASSWORD)).accessToken;
      }
      const r = await req(srv, 'GET', `/api/v1/traces/${encodeURIComponent(id)}`, { token: admin });
      if (r.status !== 200 || !r.json) throw new Error(`GET /api/v1/traces/${id}: ${r.status} ${r.text.slice(0, 200)}`);
      return r.json.context && r.json.trace ? r.json.context : r.json;
    };
    const connect = async () => {
      if (ws) { ws.close(); ws = null; }
      ws = await wsOpen(srv, token);
      const hello = await ws.next((f) => f.type === 'hello' || f.type === 'error', 5000);
      if (!hello || hello.type !== 'hello') throw new Error(`no hello frame on the WebSocket: ${JSON.stringify(hello)}`);
      if (hello.sessionId !== sessionId)
        fail(`    the WebSocket is in session ${hello.sessionId}, not the conversation's ${sessionId}`);
    };
    // log in as the CLI does: the same session, the anonymous cart merged
    const login = async (email) => {
      let r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email, password: PASSWORD }, token: sessionToken });
      if (r.status === 409) r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD }, token: sessionToken });
      if (r.status !== 200 && r.status !== 201) throw new Error(`cannot log in as ${email}: ${r.status} ${r.text}`);
      users.set(email, r.json);
      token = r.json.accessToken;
    };

    const user = conv.user;
    const email = typeof user === 'string' ? user : user?.email;
    if (email) await login(email);
    // the saved delivery address and card, through the REST resources the checkout page uses
    const seed = async (u) => {
      if (u?.address) {
        const r = await req(srv, 'PUT', '/api/v1/me/address', { body: u.address, token });
        if (r.status !== 200) throw new Error(`user.address: ${r.status} ${r.text}`);
      }
      if (u?.card) {
        const r = await req(srv, 'PUT', '/api/v1/me/payment-method', { body: u.card, token });
        if (r.status !== 200) throw new Error(`user.card: ${r.status} ${r.text}`);
      }
    };
    await seed(user);
    if (conv.memory) {
      const u = email ? users.get(email)?.user : null;
      if (!u) throw new Error('memory: needs a user (user: {email: ...}); memory is per user');
      for (const [ns, keys] of Object.entries(conv.memory)) {
        if (!keys || typeof keys !== 'object') throw new Error(`memory.${ns}: expected a mapping of keys to values`);
        for (const [k, v] of Object.entries(keys))
          sql(db, `INSERT OR REPLACE INTO memory(user_id, ns, key, value, updated_at) VALUES(${Number(u.id)}, ${sqlStr(ns)}, ${sqlStr(k)}, ${sqlStr(JSON.stringify(v))}, ${Date.now()})`);
      }
    }
    await connect();

    const turns = Array.isArray(conv.turns) ? conv.turns : [];
    if (!turns.length) fail(`    line ${conv.__line}: a conversation needs \`turns:\`, a list`);
    turnLoop:
    for (let i = 0; i < turns.length; i++) {
      const turn = turns[i] ?? {};
      const line = conv.__turnLines[i] ?? 0;
      if (turn.login !== undefined) {
        // login: EMAIL, or {email, address?, card?} seeded as `user:` is
        const who = typeof turn.login === 'object' && turn.login ? turn.login : { email: turn.login };
        await login(String(who.email)); await seed(who); await connect(); continue;
      }
      if ('logout' in turn) { token = sessionToken; await connect(); continue; }
      if (turn.say === undefined || turn.say === null) {
        fail(`  turn ${i + 1} (line ${line}): a turn has \`say:\`, \`login:\` or \`logout:\``);
        break;
      }
      const say = String(turn.say);
      turnsRun++;
      let repeat = turn.repeat !== undefined ? Number(turn.repeat) : 1;
      if (!(repeat >= 1 && repeat <= 10)) repeat = 1;
      const mid = turn.id !== undefined ? String(turn.id) : `m${i + 1}`;
      const expect = turn.expect && typeof turn.expect === 'object' ? localise(turn.expect, sessionId) : null;
      for (let r = 0; r < repeat; r++) {
        ws.sendJson({ type: 'message', text: say, clientMsgId: mid });
        const f = await ws.next((x) => (x.type === 'reply' || x.type === 'error') && x.clientMsgId === mid, TURN_MS);
        // cart and delta frames are not checked: drop them
        ws.frames.splice(0, ws.frames.length, ...ws.frames.filter((x) => x.type === 'reply' || x.type === 'error'));
        if (!f || f.type !== 'reply') {
          badTurns.add(i);
          fail(`  turn ${i + 1} (line ${line}) "${say}": ${f ? `the server answered ${JSON.stringify(f)}` : `no reply within ${TURN_MS} ms`}`);
          break turnLoop;
        }
        if (!expect) continue;
        const view = { text: f.text, cards: f.cards, intent: f.intent?.name, actions: f.actions, cart: f.cart, suggestions: f.suggestions,
          needsLogin: f.needsLogin, confirmation: f.confirmation, uiActions: f.uiActions };
        const bad = await checkTurn(expect, view, f.replayed ? null : () => traceCtx(f.traceId));
        if (bad.length) {
          fails += bad.length;
          badTurns.add(i);
          lines.push(`  turn ${i + 1} (line ${line}) "${say}"${repeat > 1 ? ` (run ${r + 1} of ${repeat})` : ''}:`);
          for (const b of bad) lines.push('    ' + b);
          lines.push(`      intent ${f.intent?.name ?? 'none'} (${Number(f.intent?.confidence ?? 0).toFixed(2)})${f.replayed ? ' [replayed]' : ''}; reply: ${oneLine(f.text)}`);
        }
      }
    }

    if (!fails && conv.after && typeof conv.after === 'object') {
      const src = {
        async orders() {
          const all = [];
          for (const tok of users.values()) {
            const r = await req(srv, 'GET', '/api/v1/orders', { token: tok.accessToken });
            if (r.status !== 200) throw new Error(`GET /api/v1/orders: ${r.status} ${r.text}`);
            for (const o of r.json?.items ?? []) {
              const d = await req(srv, 'GET', `/api/v1/orders/${o.id}`, { token: tok.accessToken });
              all.push(d.status === 200 ? d.json : o);
            }
          }
          return all;
        },
        async product(sku) {
          const r = await req(srv, 'GET', `/api/v1/products/${encodeURIComponent(sku)}`);
          return r.status === 200 ? r.json : null;
        },
        async audit() { return auditEntries(db); },
      };
      const bad = await checkAfter(localise(conv.after, sessionId), src);
      if (bad.length) {
        fails += bad.length;
        lines.push(`  after the conversation (line ${conv.__afterLine}):`);
        for (const b of bad) lines.push('    ' + b);
      }
    }
  } catch (e) {
    // a server that did not start says why in its last lines
    let msg = e.message.length > 700 ? e.message.slice(0, 200) + ' ... ' + e.message.slice(-400) : e.message;
    // and one that stopped on the way says how (exit, the end of its stderr)
    if (srv && srv.exited) msg += `\n(aisle serve exited ${JSON.stringify(srv.exited)}: ${srv.err.slice(-400)})`;
    fail(`  ${msg.replace(/\n/g, '\n    ')}`);
  } finally {
    if (ws) ws.close();
  }
  // a conversation that failed may have lost its server on the way: give
  // the exit and the end of its stderr a moment to arrive, so a crash is
  // reported as one and not as "connection refused"
  if (fails && srv && !srv.exited) await Promise.race([srv.exit, new Promise((r) => setTimeout(r, 2000))]);
  if (srv?.exited) fail(`  aisle serve exited ${JSON.stringify(srv.exited)}: ${srv.err.slice(-600)}`);
  const crash = srv?.err.match(/(AddressSanitizer|runtime error|LeakSanitizer)[^\n]*/);
  if (crash) fail(`  sanitizer report: ${crash[0]}`);
  // stopping drains for a while: let it happen beside the next ones
  const stopped = srv ? stopServer(srv).catch(() => {}) : Promise.resolve();
  const head = `${fails ? 'not ok' : 'ok'} ${t.rel}: ${name}`;
  // turns never played (the server failed) count as failed
  const turnsFailed = badTurns.size + Math.max(0, said - turnsRun) + (fails && !badTurns.size && said === turnsRun ? 1 : 0);
  return { text: [head, ...(fails ? lines : [])].join('\n'), failed: fails > 0, stopped, turns: said, turnsFailed };
}

// ---- main ----

cleanEnv();

const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const filter = filterAt >= 0 ? args.splice(filterAt, 2)[1] : null;
const minAt = args.indexOf('--min-pass');
const minPass = minAt >= 0 ? Number(args.splice(minAt, 2)[1]) : null;
if (minPass !== null && !(minPass >= 0 && minPass <= 100)) {
  console.log('not ok conversations over aisle serve: --min-pass takes a percentage (0-100)');
  process.exit(0);
}
// [path, minimum pass rate of its turns in percent, or null: all must pass]
const sets = args.length
  ? args.map((p) => [p, minPass])
  : [['pipelines/tests', null], ['scripts/tests', null], ['tests/integration/data/understanding_dev.yaml', 90]];
const jobs = [];
let failed = 0;
for (const [p, min] of sets)
  for (const f of listFiles(p)) {
    const t = readTests(f);
    t.rel = relative(process.cwd(), resolve(f.file)) || f.file;
    t.min = min;
    if (t.skip) continue;
    if (t.error) { console.log(`not ok ${t.rel}: the file does not load\n  ${t.error}`); failed++; continue; }
    t.convs.forEach((c, i) => { if (!filter || String(c.name ?? '').includes(filter)) jobs.push([t, c, i]); });
  }

// a pool of JOBS servers; lines come out in file order
const results = new Array(jobs.length);
const waiters = [];
let next = 0;
let printed = 0;
// a file with a minimum pass rate prints one line when its last
// conversation is done: the rate, then its conversations indented
const rated = new Map(); // file -> {turns, failed, texts, left}
for (const [t] of jobs) if (t.min !== null) {
  const r = rated.get(t.rel) ?? { t, turns: 0, failed: 0, texts: [], left: 0 };
  r.left++;
  rated.set(t.rel, r);
}
const flush = () => {
  while (printed < jobs.length && results[printed]) {
    const [t] = jobs[printed];
    const res = results[printed];
    printed++;
    if (t.min === null) { console.log(res.text); continue; }
    const r = rated.get(t.rel);
    r.turns += res.turns;
    r.failed += res.turnsFailed;
    r.texts.push(res.text.replace(/^/gm, '  '));
    if (--r.left) continue;
    const rate = r.turns ? (100 * (r.turns - r.failed)) / r.turns : 0;
    const ok = r.turns > 0 && rate >= t.min;
    if (!ok) failed++;
    console.log(`${ok ? 'ok' : 'not ok'} ${t.rel}: ${r.turns - r.failed} of ${r.turns} turns passed (${rate.toFixed(1)}%, at least ${t.min}% needed)`);
    console.log(r.texts.join('\n'));
  }
};
await Promise.all(Array.from({ length: Math.min(JOBS, jobs.length) }, async () => {
  while (next < jobs.length) {
    const k = next++;
    results[k] = await runConversation(...jobs[k]);
    waiters.push(results[k].stopped);
    if (results[k].failed && jobs[k][0].min === null) failed++;
    flush();
  }
}));
flush();
await Promise.all(waiters);
const checks = jobs.filter(([t]) => t.min === null).length + rated.size;
console.log(`# ${checks - failed} of ${checks} conversations (a rated set counts once) passed against aisle serve`);
process.exit(0);

// tests/bench/http/ws.mjs — the two WebSocket chat transports side by side:
// civetweb (/ws on the HTTP port, a thread per socket) and the event loop
// (ws.listen).  For each: server RSS per idle socket (session included),
// /healthz latency with N idle sockets open, and chat turns per second
// with C sockets each sending messages one after the other (FAQ
// pipeline).  Not a timed test; JSON to tests/bench/results/ws.json.
// Env: AISLE (binary), IDLE (130), CONC (16), MSGS (20), ONLY (civetweb
// or uv: one transport; civetweb holds at most http.num_threads - 2 x
// http.thread_reserve sockets, 96 with the defaults).
// MIX=commerce: the shipped pipelines/commerce.yaml on the sample catalog,
// each socket cycling through the REST bench's mix (chat_mix.sh: search,
// details, add, cart, refine, remove), after WARM (12) messages per socket
// that are not counted; turns/s and p50/p99 of each turn (send to reply).
// OUT (tests/bench/results/ws.json) names the JSON file.
// Run from the repository root: node tests/bench/http/ws.mjs
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { startServer, stopServer, wsOpen } from '../../integration/gateway/lib.mjs';

const MIX = process.env.MIX || 'faq', WARM = Number(process.env.WARM || 12);
const COMMERCE = ['show me sunglasses', 'tell me more about the first one', 'add it to my cart',
  'whats in my cart?', 'only the ones under 30 dollars', 'remove it from my cart'];
const IDLE = Number(process.env.IDLE ?? 130), CONC = Number(process.env.CONC || 16), MSGS = Number(process.env.MSGS || 20);
// the server's CPU time (user + system, all threads) in microseconds
const cpuUs = (srv) => {
  const f = readFileSync(`/proc/${srv.proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;   // clock ticks: 100 a second on Linux
};
const rssKb = (srv) => Number(readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]);
const yaml = 'limits:\n  ip_rps: 0\n  user_rps: 0\nhttp:\n  max_conns_per_ip: 0\n  max_idle_per_ip: 0\n';

async function healthz(srv) {
  const t = process.hrtime.bigint();
  try {
    const r = await fetch(srv.base + '/healthz', { signal: AbortSignal.timeout(3000) });
    return r.ok ? Number(process.hrtime.bigint() - t) / 1e6 : null;
  } catch { return null; }   // timed out: no thread free
}

async function one(wsUv) {
  const srv = await startServer({ yaml, civetweb: !wsUv, ...(MIX === 'commerce' ? { pipeline: 'pipelines/commerce.yaml' } : {}) });
  const out = { transport: wsUv ? 'event loop (ws.listen)' : 'civetweb' };
  try {
    const r0 = rssKb(srv);
    const socks = [];
    for (let i = 0; i < IDLE; i++) {
      const w = await Promise.race([wsOpen(srv), new Promise((r) => setTimeout(r, 3000))]).catch(() => null);
      if (!w) break;
      socks.push(w);
    }
    await Promise.all(socks.map((w) => w.next((f) => f.type === 'hello', 3000)));
    out.idleOpened = socks.length;
    out.rssPerIdleSocketKb = +((rssKb(srv) - r0) / Math.max(1, socks.length)).toFixed(1);
    out.healthzMsWithIdle = await healthz(srv);
    {
      const t = process.hrtime.bigint();
      const r = await fetch(srv.base + '/api/v1/products?limit=1', { signal: AbortSignal.timeout(3000) }).catch(() => null);
      out.productsMsWithIdle = r && r.ok ? Number(process.hrtime.bigint() - t) / 1e6 : null;
      out.rssWithIdleKb = rssKb(srv);
    }
    socks.forEach((w) => w.close());
    await new Promise((r) => setTimeout(r, 500));
    const chat = [];
    for (let i = 0; i < CONC; i++) chat.push(await wsOpen(srv));
    await Promise.all(chat.map((w) => w.next((f) => f.type === 'hello')));
    const text = (k) => (MIX === 'commerce' ? COMMERCE[k % COMMERCE.length] : 'what is your return policy');
    // one message at a time per socket; other frames (cart events) are
    // dropped so that the wait does not scan a growing list
    const turn = async (w, id, k, lat) => {
      const t0 = process.hrtime.bigint();
      w.sendJson({ type: 'message', text: text(k), clientMsgId: id });
      const f = await w.next((g) => g.type === 'reply' || g.type === 'error', 10000);
      if (lat) lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
      w.frames.length = 0;
      return f && f.type === 'reply';
    };
    const warm = MIX === 'commerce' ? WARM : 0;
    await Promise.all(chat.map(async (w, i) => { for (let k = 0; k < warm; k++) await turn(w, `w-${i}-${k}`, k, null); }));
    const lat = [];
    let bad = 0;
    const t = process.hrtime.bigint(), c0 = cpuUs(srv), u0 = process.cpuUsage();
    await Promise.all(chat.map(async (w, i) => {
      for (let k = 0; k < MSGS; k++)
        if (!(await turn(w, `b-${i}-${k}`, warm + k, lat))) bad++;
    }));
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    out.turnsPerSecond = +((CONC * MSGS) / secs).toFixed(1);
    // CPU per turn: the server's (all its threads) and this client's
    out.serverCpuUsPerTurn = +((cpuUs(srv) - c0) / (CONC * MSGS)).toFixed(1);
    const u = process.cpuUsage(u0);
    out.clientCpuUsPerTurn = +((u.user + u.system) / (CONC * MSGS)).toFixed(1);
    lat.sort((a, b) => a - b);
    const pct = (q) => +lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(2);
    out.p50Ms = pct(0.5);
    out.p99Ms = pct(0.99);
    out.notReplies = bad;
    out.rssAfterChatKb = rssKb(srv);
    chat.forEach((w) => w.close());
  } finally {
    await stopServer(srv);
  }
  return out;
}

const ONLY = process.env.ONLY || '';
const runs = [];
if (ONLY !== 'uv') runs.push(await one(false));
if (ONLY !== 'civetweb') runs.push(await one(true));
const results = { mix: MIX, idle: IDLE, conc: CONC, msgs: MSGS, warm: MIX === 'commerce' ? WARM : 0, at: new Date().toISOString(), runs };
console.log(JSON.stringify(results, null, 2));
mkdirSync('tests/bench/results', { recursive: true });
writeFileSync(process.env.OUT || 'tests/bench/results/ws.json', JSON.stringify(results, null, 2) + '\n');

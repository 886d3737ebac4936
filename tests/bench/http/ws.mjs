// tests/bench/http/ws.mjs — the two WebSocket chat transports side by side:
// civetweb (/ws on the HTTP port, a thread per socket) and the event loop
// (ws.listen).  For each: server RSS per idle socket (session included),
// /healthz latency with N idle sockets open, and chat turns per second
// with C sockets each sending messages one after the other (FAQ
// pipeline).  Not a timed test; JSON to tests/bench/results/ws.json.
// Env: AISLE (binary), IDLE (130), CONC (16), MSGS (20), ONLY (civetweb
// or uv: one transport; civetweb holds at most http.num_threads - 2 x
// http.thread_reserve sockets, 96 with the defaults).
// Run from the repository root: node tests/bench/http/ws.mjs
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { startServer, stopServer, wsOpen } from '../../integration/gateway/lib.mjs';

const IDLE = Number(process.env.IDLE || 130), CONC = Number(process.env.CONC || 16), MSGS = Number(process.env.MSGS || 20);
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
  const srv = await startServer({ yaml, civetweb: !wsUv });
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
    const t = Date.now();
    await Promise.all(chat.map(async (w, i) => {
      for (let k = 0; k < MSGS; k++) {
        w.sendJson({ type: 'message', text: 'what is your return policy', clientMsgId: `b-${i}-${k}` });
        await w.next((f) => f.type === 'reply' || f.type === 'error', 10000);
      }
    }));
    out.turnsPerSecond = +((CONC * MSGS) / ((Date.now() - t) / 1000)).toFixed(1);
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
const results = { idle: IDLE, conc: CONC, msgs: MSGS, at: new Date().toISOString(), runs };
console.log(JSON.stringify(results, null, 2));
mkdirSync('tests/bench/results', { recursive: true });
writeFileSync('tests/bench/results/ws.json', JSON.stringify(results, null, 2) + '\n');

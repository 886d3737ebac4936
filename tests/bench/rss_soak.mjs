// tests/bench/rss_soak.mjs — does `aisle serve` hold its memory under a
// long mixed load and give it back when idle? (issue 12: RSS grew ~17 MB
// over 10 minutes and was not returned). Starts a real `aisle serve` with
// pipelines/commerce.yaml on the sample catalog, then for SOAK_SECONDS
// (default 600) runs, side by side: REST chat turns in fresh anonymous
// sessions, WebSocket chat sessions opened, used for a few turns and
// closed, product searches and product reads, anonymous cart writes.
// VmRSS is sampled every 5 s; the figures are RSS after the warm-up
// (the first 20% of the run), at the end of the load, the largest drift
// after warm-up, and RSS after 30 s idle. Writes
// tests/bench/results/rss_soak.json. Not a timed test: `make bench`, or
//   AISLE=build/aisle SOAK_SECONDS=120 node tests/bench/rss_soak.mjs
// AISLE_TEST_WS_UV=1 puts the WebSockets on the event-loop listener, as
// `make run` serves them.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { startServer, stopServer, req, wsOpen, sleep } from '../integration/gateway/lib.mjs';

const SECS = Number(process.env.SOAK_SECONDS || 600);
const rssKb = (pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
};
const messages = ['show me sunglasses', 'any perfumes under 50?', 'add the first one', 'what is in my cart',
  'cheaper ones please', 'tell me about the second one', 'how long does shipping take', 'do you have laptops',
  'sort by rating', 'remove it', 'whats your return policy', 'red lipstick'];
const queries = ['shoes', 'laptop', 'lipstick', 'watch', 'perfume', 'kitchen knife', 'sunglasses', 'iphone'];

const srv = await startServer({
  pipeline: 'pipelines/commerce.yaml',
  // the limits are the shop's defaults times a hundred: this measures memory, not throttling
  yaml: 'limits:\n  ip_rps: 5000\n  ip_burst: 10000\n  user_rps: 5000\n  user_burst: 10000\n' + (process.env.SOAK_YAML || ''),
});
const pid = srv.proc.pid;
const samples = [];
const t0 = Date.now();
const until = t0 + SECS * 1000;
let turns = 0, reads = 0, writes = 0, wsSessions = 0, errors = 0;
const sampler = setInterval(() => samples.push({ s: (Date.now() - t0) / 1000, kb: rssKb(pid) }), 5000);
samples.push({ s: 0, kb: rssKb(pid) });

async function restChat() {
  while (Date.now() < until) {
    const a = await req(srv, 'POST', '/api/v1/auth/anonymous', { body: {} });
    if (a.status !== 200 && a.status !== 201) { errors++; await sleep(100); continue; }
    for (let i = 0; i < 4 && Date.now() < until; i++) {
      const r = await req(srv, 'POST', '/api/v1/chat', { body: { text: messages[(turns + i) % messages.length], sessionId: a.json.sessionId }, token: a.json.sessionToken });
      if (r.status === 200) turns++; else errors++;
    }
  }
}
async function wsChat() {
  while (Date.now() < until) {
    let ws;
    try { ws = await wsOpen(srv); } catch { errors++; await sleep(100); continue; }
    wsSessions++;
    await ws.next((f) => f.type === 'hello', 3000);
    for (let i = 0; i < 3 && Date.now() < until; i++) {
      ws.sendJson({ type: 'message', text: messages[(turns + i * 5) % messages.length], clientMsgId: `m${i}` });
      const r = await ws.next((f) => f.type === 'reply' || f.type === 'error', 10000);
      if (r && r.type === 'reply') turns++; else errors++;
    }
    ws.close();
    await ws.closed();
  }
}
async function rest() {
  let i = 0;
  while (Date.now() < until) {
    const q = queries[i++ % queries.length];
    const r = await req(srv, 'GET', `/api/v1/products?q=${encodeURIComponent(q)}&limit=10`);
    if (r.status === 200) reads++; else errors++;
    const sku = r.json?.items?.[0]?.sku || r.json?.products?.[0]?.sku;
    if (sku) { const g = await req(srv, 'GET', `/api/v1/products/${encodeURIComponent(sku)}`); if (g.status === 200) reads++; else errors++; }
  }
}
async function carts() {
  const list = await req(srv, 'GET', '/api/v1/products?q=shoes&limit=3');
  const skus = (list.json?.items || list.json?.products || []).map((p) => p.sku);
  while (Date.now() < until) {
    const a = await req(srv, 'POST', '/api/v1/auth/anonymous', { body: {} });
    if (a.status !== 200 && a.status !== 201) { errors++; await sleep(100); continue; }
    const tok = a.json.sessionToken;
    for (const sku of skus) {
      const r = await req(srv, 'POST', '/api/v1/cart/items', { body: { sku, qty: 1 }, token: tok });
      if (r.status < 300) writes++; else errors++;
    }
    const c = await req(srv, 'GET', '/api/v1/cart', { token: tok });
    if (c.status === 200) reads++; else errors++;
  }
}

await Promise.all([restChat(), restChat(), wsChat(), wsChat(), rest(), carts()]);
const endKb = rssKb(pid);
await sleep(30000);
const idleKb = rssKb(pid);
clearInterval(sampler);
await stopServer(srv);

const warm = samples.filter((x) => x.s >= SECS * 0.2);
const base = warm.length ? warm[0].kb : samples[0].kb;
const peak = Math.max(...warm.map((x) => x.kb));
const out = {
  bench: 'rss_soak', seconds: SECS, wsTransport: srv.wsPort ? 'event loop (ws.listen)' : 'civetweb', turns, reads, writes, wsSessions, errors,
  rssStartKb: samples[0].kb, rssAfterWarmupKb: base, rssPeakAfterWarmupKb: peak, rssEndKb: endKb, rssIdle30sKb: idleKb,
  driftAfterWarmupKb: endKb - base, maxDriftAfterWarmupKb: peak - base, samples,
};
mkdirSync('tests/bench/results', { recursive: true });
writeFileSync('tests/bench/results/rss_soak.json', JSON.stringify(out, null, 1));
const mb = (kb) => (kb / 1024).toFixed(1) + ' MB';
console.log(`rss soak ${SECS} s: ${turns} turns, ${reads} reads, ${writes} cart writes, ${wsSessions} WebSocket sessions, ${errors} errors`);
console.log(`RSS start ${mb(out.rssStartKb)}, after warm-up ${mb(base)}, peak ${mb(peak)}, end ${mb(endKb)}, idle 30 s ${mb(idleKb)}; drift after warm-up ${mb(out.driftAfterWarmupKb)} (max ${mb(out.maxDriftAfterWarmupKb)})`);

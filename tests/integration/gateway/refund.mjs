// tests/integration/gateway/refund.mjs — cancelling a paid order gives the
// money back through the payment provider, exactly once, as a shopper and
// an operator see it: the order (GET /api/v1/orders/{id}) keeps the refund
// (status, amount, the charge's reference, when), /metrics counts one
// refund per cancelled order: a repeat of the cancel and ten cancels at
// once give one; and a server killed (kill -9) between the cancel and the
// refund gives it back after the restart, once.
import { ok, skip, req, startServer, stopServer, metric, sleep, CHECKOUT } from './lib.mjs';
import { register } from './rest.mjs';
import { startRedis, tools } from './stores.mjs';

const SKU = 'BEA-ESS-ESS-001';
const YAML = 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n';

const SAN = /ERROR: (Address|Leak)Sanitizer|runtime error:/;
const clean = (srv, who) => ok(!SAN.test(srv.err), `refund: no sanitizer report from ${who}`, srv.err.slice(-2000));

const refunds = async (srv) => {
  const t = (await req(srv, 'GET', '/metrics')).text;
  return { cancel: metric(t, 'aisle_payment_cancel_refunds_total'), all: metric(t, 'aisle_payment_refunds_total') };
};

// a paid order of the signed-in shopper: {id, total, reference}
async function paidOrder(srv, tok, key) {
  await req(srv, 'POST', '/api/v1/cart/items', { token: tok, body: { sku: SKU, qty: 1 } });
  const r = await req(srv, 'POST', '/api/v1/orders', { token: tok, body: CHECKOUT, headers: { 'Idempotency-Key': key } });
  if (r.status !== 201 || r.json?.payment?.status !== 'paid') throw new Error(`a paid order: ${r.status} ${r.text}`);
  return { id: r.json.id, total: r.json.total, reference: r.json.payment.reference };
}

export async function refundTests() {
  let srv = await startServer({ pipeline: 'pipelines/commerce.yaml', yaml: YAML });
  try {
    const tok = (await register(srv, 'refund@example.com')).json.accessToken;
    const o = await paidOrder(srv, tok, 'refund-1');
    const m0 = await refunds(srv);
    let r = await req(srv, 'POST', `/api/v1/orders/${o.id}/cancel`, { token: tok });
    ok(r.status === 200 && r.json.status === 'cancelled' && r.json.refund?.status === 'refunded' &&
       r.json.refund.amount === o.total && r.json.refund.reference === o.reference && r.json.refund.last4 === '4242' &&
       r.json.refund.at > 0,
    'refund: cancelling a paid order answers with the refund: refunded, the amount charged, the charge reference, when', r.text);
    r = await req(srv, 'GET', `/api/v1/orders/${o.id}`, { token: tok });
    ok(r.status === 200 && r.json.refund?.status === 'refunded' && r.json.refund.amount === o.total,
      'refund: GET the order shows the refund', r.text);
    const m1 = await refunds(srv);
    ok(m1.cancel - m0.cancel === 1 && m1.all - m0.all === 1, 'refund: the payment provider was asked for one refund (/metrics)', { m0, m1 });
    // a repeat of the cancel, with or without another key: no second refund
    r = await req(srv, 'POST', `/api/v1/orders/${o.id}/cancel`, { token: tok });
    const r2 = await req(srv, 'POST', `/api/v1/orders/${o.id}/cancel`, { token: tok, headers: { 'Idempotency-Key': 'again-2' } });
    const m2 = await refunds(srv);
    ok(r.status === 409 && r2.status === 409 && m2.cancel === m1.cancel && m2.all === m1.all,
      'refund: cancelling it again (another key too) is 409 and refunds nothing', { s: [r.status, r2.status], m1, m2 });
    // ten cancels of one paid order at once: one cancels it, one refund
    const o2 = await paidOrder(srv, tok, 'refund-2');
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      req(srv, 'POST', `/api/v1/orders/${o2.id}/cancel`, { token: tok, headers: { 'Idempotency-Key': `race-${i}` } })));
    const m3 = await refunds(srv);
    const oks = all.filter((x) => x.status === 200).length, conflicts = all.filter((x) => x.status === 409).length;
    ok(oks === 1 && conflicts === 9 && m3.cancel - m2.cancel === 1 && m3.all - m2.all === 1,
      'refund: ten cancels at once: one 200, nine 409, one refund', { s: all.map((x) => x.status), m2, m3 });
    r = await req(srv, 'GET', `/api/v1/orders/${o2.id}`, { token: tok });
    ok(r.json?.refund?.status === 'refunded' && r.json.refund.amount === o2.total, 'refund: ... and the order shows it', r.text);
  } finally {
    await stopServer(srv);
    clean(srv, 'the server');
  }

  // kill -9 between the cancel (which writes the refund owed) and the refund
  srv = await startServer({ pipeline: 'pipelines/commerce.yaml', yaml: YAML,
    env: { AISLE_TEST_HOOKS: '1', AISLE_TEST_CRASH_BEFORE_REFUND: '1' } });
  try {
    const tok = (await register(srv, 'refund-crash@example.com')).json.accessToken;
    const o = await paidOrder(srv, tok, 'crash-1');
    const before = await refunds(srv);
    let r = await req(srv, 'POST', `/api/v1/orders/${o.id}/cancel`, { token: tok }).catch((e) => ({ status: 0, text: String(e) }));
    const died = await Promise.race([srv.exit, sleep(5000).then(() => null)]);
    ok(r.status === 0 && died?.sig === 'SIGKILL' && before.cancel === 0,
      'refund: the server is killed (SIGKILL) right after the cancel committed, before any refund', { r: r.status, died, before });
    srv = await startServer({ pipeline: 'pipelines/commerce.yaml', yaml: YAML, dir: srv.dir, seed: false,
      env: { AISLE_TEST_HOOKS: '1', AISLE_TEST_REFUND_SWEEP_MS: '200' } });
    let got = null;
    for (let i = 0; i < 100 && got?.refund?.status !== 'refunded'; i++) {
      got = (await req(srv, 'GET', `/api/v1/orders/${o.id}`, { token: tok })).json;
      if (got?.refund?.status !== 'refunded') await sleep(100);
    }
    ok(got?.status === 'cancelled' && got.refund?.status === 'refunded' && got.refund.amount === o.total &&
       got.refund.reference === o.reference,
    'refund: after the restart the order is cancelled and refunded (the refund owed was kept with the cancel)', got);
    await sleep(700);   /* a few more sweeps */
    r = await req(srv, 'POST', `/api/v1/orders/${o.id}/cancel`, { token: tok });
    const m = await refunds(srv);
    ok(r.status === 409 && m.cancel === 1 && m.all === 1,
      'refund: the restarted server refunded it exactly once (sweeps and a repeated cancel ask nothing more)', { status: r.status, m });
    ok(/"event":"refunds_settled"[^\n]*"refunded":1/.test(srv.err + srv.out), 'refund: the restart logs the refund it settled', srv.err.slice(-2000));
  } finally {
    await stopServer(srv);
    clean(srv, 'the restarted server');
  }

  // two instances on one SQLite file, their leases in a real redis-server:
  // ten cancels spread over both give one refund between them
  if (tools({ redis: true }).length) {
    skip('refund: two instances with Redis', tools({ redis: true }).join(', ') + ' missing');
    return;
  }
  const redis = await startRedis();
  let a = null, b = null;
  try {
    const env = { AISLE_REDIS_URL: redis.url };
    a = await startServer({ pipeline: 'pipelines/commerce.yaml', yaml: YAML, env });
    b = await startServer({ pipeline: 'pipelines/commerce.yaml', yaml: YAML, env, dir: a.dir, seed: false });
    const tok = (await register(a, 'refund-two@example.com')).json.accessToken;
    const o = await paidOrder(a, tok, 'two-1');
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      req(i % 2 ? b : a, 'POST', `/api/v1/orders/${o.id}/cancel`, { token: tok })));
    await sleep(300);
    const ma = await refunds(a), mb = await refunds(b);
    const got = (await req(b, 'GET', `/api/v1/orders/${o.id}`, { token: tok })).json;
    ok(all.filter((x) => x.status === 200).length === 1 && ma.cancel + mb.cancel === 1 && got?.refund?.status === 'refunded',
      'refund: two instances sharing the store (leases in Redis): ten cancels over both, one refund between them',
      { s: all.map((x) => x.status), ma, mb, refund: got?.refund });
  } finally {
    const dir = a?.dir;
    if (b) { b.dir = dir + '-none'; await stopServer(b); }
    await stopServer(a);
    await redis.stop();
    if (a) clean(a, 'instance A');
    if (b) clean(b, 'instance B');
  }
}

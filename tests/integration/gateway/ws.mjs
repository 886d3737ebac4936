// tests/integration/gateway/ws.mjs — the WebSocket chat channel: session
// frames, reply shape, once-only answers to a resent clientMsgId, ping,
// cart events from REST, the inspector's trace feed, malformed, invalid
// UTF-8 and oversized frames, bad tokens; and /metrics moving with it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ok, req, wsOpen, metric, sleep, startServer, stopServer, tmp } from './lib.mjs';

export async function wsTests(srv, users) {
  let m0 = (await req(srv, 'GET', '/metrics')).text;
  const ws = await wsOpen(srv);
  const sess = await ws.next((f) => f.type === 'session');
  ok(sess && sess.sessionToken && sess.sessionId, 'ws without a token gets a new anonymous session', sess);
  const hello = await ws.next((f) => f.type === 'hello');
  ok(hello && hello.sessionId === sess?.sessionId, 'ws hello frame');
  let m1 = (await req(srv, 'GET', '/metrics')).text;
  ok(metric(m1, 'aisle_websocket_sessions') === metric(m0, 'aisle_websocket_sessions') + 1, 'metrics: active WebSocket sessions gauge', m1.match(/aisle_websocket_sessions.*/)?.[0]);

  const turns0 = metric(m1, 'aisle_turns_total');
  ws.sendJson({ type: 'message', text: 'what is your return policy', clientMsgId: 'c-1' });
  const rep = await ws.next((f) => f.type === 'reply' || f.type === 'error');
  ok(rep && rep.type === 'reply' && rep.clientMsgId === 'c-1' && typeof rep.text === 'string' && rep.text.length > 0 &&
     Array.isArray(rep.cards) && Array.isArray(rep.suggestions) && Array.isArray(rep.actions) && rep.cart && rep.traceId,
     'ws message gets a reply frame {text, cards, suggestions, actions, cart, traceId}', rep);
  ws.sendJson({ type: 'message', text: 'what is your return policy', clientMsgId: 'c-1' });
  const again = await ws.next((f) => f.type === 'reply' || f.type === 'error');
  ok(again && again.traceId === rep?.traceId && again.replayed === true, 'resent clientMsgId is answered from the first result', again);
  const m2 = (await req(srv, 'GET', '/metrics')).text;
  ok(metric(m2, 'aisle_turns_total') === turns0 + 1, 'the resent message did not run a second turn', { before: turns0, after: metric(m2, 'aisle_turns_total') });
  ok(/aisle_stage_duration_seconds_bucket\{stage="nlu",le="\+Inf"\} [1-9]/.test(m2) && /aisle_turn_duration_seconds_count [1-9]/.test(m2),
     'metrics: turn latency histograms per stage');

  ws.sendJson({ type: 'ping', id: 7 });
  const pong = await ws.next((f) => f.type === 'pong');
  ok(pong && pong.id === 7, 'ping/pong');

  // cart events: a REST change reaches the WebSocket of that session
  const r = await req(srv, 'POST', '/api/v1/cart/items', { token: sess.sessionToken, body: { sku: users.sku, qty: 1 } });
  const ev = await ws.next((f) => f.type === 'cart');
  ok(r.status === 200 && ev && ev.cart.count === 1 && ev.cart.items[0].sku === users.sku, 'cart change over REST pushes a {type:"cart"} frame', ev);

  // the inspector's trace feed
  const insp = await wsOpen(srv, users.admin.accessToken);
  insp.sendJson({ type: 'subscribe', topic: 'traces' });
  const sub = await insp.next((f) => f.type === 'subscribed' || f.type === 'error');
  ok(sub && sub.type === 'subscribed', 'admin subscribes to traces', sub);
  ws.sendJson({ type: 'subscribe', topic: 'traces' });
  const deny = await ws.next((f) => f.type === 'error');
  ok(deny && deny.status === 403, 'a shopper may not subscribe to traces', deny);
  ws.sendJson({ type: 'message', text: 'hello there', clientMsgId: 'c-2' });
  await ws.next((f) => f.type === 'reply');
  const tr = await insp.next((f) => f.type === 'trace');
  ok(tr && tr.trace.id && tr.trace.text === 'hello there' && Array.isArray(tr.trace.stages), 'inspector gets a {type:"trace"} frame per turn', tr);
  insp.close();

  // malformed frames never close a healthy connection
  for (const [name, data] of [['not JSON', 'hello?'], ['JSON array', '[1,2,3]'], ['unknown type', '{"type":"zzz"}'],
    ['message without text', '{"type":"message"}'], ['text not a string', '{"type":"message","text":42}']]) {
    ws.send(data);
    const e = await ws.next((f) => f.type === 'error');
    ok(e && e.status >= 400 && e.status < 500, `malformed frame (${name}) answered with an error frame`, e);
  }
  ws.send(Buffer.from('{"type":"ping"}'), { binary: true });
  const be = await ws.next((f) => f.type === 'error');
  ok(be && be.status === 400, 'binary frame answered with an error frame');
  ws.sendJson({ type: 'ping', id: 8 });
  ok((await ws.next((f) => f.type === 'pong'))?.id === 8, 'connection still healthy after malformed frames');
  ws.sendJson({ type: 'message', text: 'y'.repeat(3000) });
  const big = await ws.next((f) => f.type === 'error');
  ok(big && big.status === 413, 'chat message over the size limit: error 413', big);

  // invalid UTF-8: error frame, close 1007
  ws.send(Buffer.from([0x7b, 0x22, 0x74, 0xc3, 0x28, 0x22, 0x7d]), { binary: false });
  const ue = await ws.next((f) => f.type === 'error');
  const uc = await ws.closed();
  ok(ue && ue.status === 400 && ue.code === 'invalid-utf8' && uc && uc.code === 1007, 'invalid UTF-8 frame: error 400, close 1007', { ue, uc });

  // oversized frame: error 413, close 1009
  const ws2 = await wsOpen(srv, users.anon);
  await ws2.next((f) => f.type === 'hello');
  ws2.sendJson({ type: 'message', text: 'z'.repeat(20000) });
  const fe = await ws2.next((f) => f.type === 'error');
  const fc = await ws2.closed();
  ok(fe && fe.status === 413 && fc && fc.code === 1009, 'oversized frame: error 413, close 1009', { fe, fc });

  // bad token
  const ws3 = await wsOpen(srv, 'abc.def.ghi');
  const te = await ws3.next((f) => f.type === 'error');
  const tc = await ws3.closed();
  ok(te && te.status === 401 && tc && tc.code === 4401, 'ws with a forged token: error 401, close 4401', { te, tc });

  // a logged-in WebSocket sees its own cart
  const ws4 = await wsOpen(srv, users.bob.accessToken);
  const h4 = await ws4.next((f) => f.type === 'hello');
  ok(h4 && h4.userId === users.bob.user.id, 'ws with an access token is that user', h4);
  await req(srv, 'POST', '/api/v1/cart/items', { token: users.bob.accessToken, body: { sku: users.sku, qty: 1 } });
  const ev4 = await ws4.next((f) => f.type === 'cart');
  ok(ev4 && ev4.cart.id === `user:${users.bob.user.id}`, "user's cart events reach the user's sockets", ev4);
  ws4.close();
  ws.close();
  await sleep(100);
  const m3 = (await req(srv, 'GET', '/metrics')).text;
  ok(/aisle_http_requests_total\{route="\/api\/v1\/cart\/items",method="POST",status="200"\} [1-9]/.test(m3),
     'metrics: requests by route, method and status');
}

// The other transport: /ws on the HTTP port, a civetweb thread per socket
// (ws.listen none); and what `aisle serve` does with no ws.listen at all.
export async function civetwebTests() {
  // a page of our own, so the checks hold whether or not ui/dist is built
  const ui = tmp();
  writeFileSync(join(ui, 'index.html'), '<!doctype html><html><head><title>shop</title></head><body></body></html>');
  const yaml = 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n' +
    `ui_dir: ${ui}\n`;
  let srv = await startServer({ yaml, civetweb: true });
  try {
    ok(srv.wsPort === 0 && !/event loop/.test(srv.err), 'ws.listen none: no event-loop listener', srv.err.slice(-300));
    const page = await req(srv, 'GET', '/');
    ok(page.status === 200 && /<title>shop<\/title>/.test(page.text) && !/aisle-ws-port/.test(page.text),
       'ws.listen none: the page is not sent to another port', page.text.slice(0, 300));
    const ws = await wsOpen(srv);
    const sess = await ws.next((f) => f.type === 'session');
    ok(sess && sess.sessionToken, 'civetweb /ws: a new anonymous session', sess);
    ws.sendJson({ type: 'message', text: 'what is your return policy', clientMsgId: 'cw-1' });
    const rep = await ws.next((f) => f.type === 'reply' || f.type === 'error');
    ok(rep && rep.type === 'reply' && rep.clientMsgId === 'cw-1' && rep.text.length > 0, 'civetweb /ws: a message gets its reply', rep);
    ws.sendJson({ type: 'ping', id: 3 });
    const pong = await ws.next((f) => f.type === 'pong');
    ok(pong && pong.id === 3, 'civetweb /ws: ping/pong');
    ws.send('x'.repeat(20000));
    const closed = await ws.closed();
    ok(closed && closed.code === 1009, 'civetweb /ws: a message over ws.max_frame_bytes closes 1009', closed);
  } finally {
    await stopServer(srv);
  }
  // no ws.listen: the chat is on the event loop at the HTTP port + 1, and
  // the page says so
  srv = await startServer({ yaml, shipped: true });
  try {
    // the line is printed once gw_start returns, which can be just after
    // /healthz first answers: wait for it (at most 3 s)
    for (let i = 0; i < 60 && !/chat WebSocket on /.test(srv.err); i++) await sleep(50);
    ok(new RegExp(`chat WebSocket on ws://127\\.0\\.0\\.1:${srv.port + 1}/ws \\(port ${srv.port + 1}, event loop\\)`).test(srv.err),
       'aisle serve without ws.listen: /ws on the event loop at the HTTP port + 1', srv.err.slice(-300));
    const page = await req(srv, 'GET', '/');
    ok(new RegExp(`aisle-ws-port" content="${srv.port + 1}"`).test(page.text), 'the page is told the event-loop port',
       page.text.slice(0, 300));
    const ws = await wsOpen(srv);
    const sess = await ws.next((f) => f.type === 'session');
    ok(sess && sess.sessionToken, 'the default listener answers /ws', sess);
    ws.close();
    const onHttp = await wsOpen({ ...srv, wsPort: 0 }).then(() => 'open', (e) => e.message);
    ok(onHttp !== 'open', '/ws on the HTTP port is not a WebSocket when the event loop serves it', onHttp);
  } finally {
    await stopServer(srv);
  }
}

// tests/integration/gateway/llm.mjs — chat with an LLM configured, against
// the loopback fake provider (tests/fake_llm/server.js): the phrasing
// streams to the WebSocket as {type:"delta"} frames before the final
// reply; when the provider fails, the template answers in time and
// /metrics counts the fallback per stage.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, stopServer, ok, tmp, wsOpen, req, metric, startFake, makeAdmin } from './lib.mjs';

const PIPE = `pipeline: llm-chat
deadline_ms: 4000
intents:
  hello: [hi, hello, hey there, good morning]
  bye: [bye, goodbye, see you later]
stages:
  - { id: nlu, type: classifier, model: llm, llm_timeout_ms: 1500, threshold: 0 }
  - { id: reply, type: formatter, llm: true, llm_timeout_ms: 1500, templates: { default: "About {{intent.name}}." } }
`;

export async function llmTests() {
  const fake = await startFake();
  const dir = tmp();
  const pipe = join(dir, 'llm.yaml');
  writeFileSync(pipe, PIPE);
  let srv;
  try {
    srv = await startServer({
      pipeline: pipe,
      env: { AISLE_LLM: 'on', AISLE_LLM_PROVIDER: 'openai', AISLE_LLM_BASE_URL: `http://127.0.0.1:${fake.port}/v1`,
             AISLE_LLM_API_KEY: 'sk-test-gateway', AISLE_LLM_MODEL: 'test-model', AISLE_LLM_LOG: 'off' },
    });
    const ws = await wsOpen(srv);
    ws.sendJson({ type: 'message', text: '[intent:bye] I have to go now', clientMsgId: 'llm-1' });
    const deltas = [];
    let reply = null;
    for (let i = 0; i < 200 && !reply; i++) {
      const f = await ws.next((x) => x.type === 'delta' || x.type === 'reply', 5000);
      if (!f) break;
      if (f.type === 'delta') deltas.push(f); else reply = f;
    }
    const streamed = deltas.map((d) => d.text ?? d.delta ?? '').join('');
    ok(deltas.length > 1, 'ws: an LLM-phrased reply streams as several delta frames', { deltas: deltas.length });
    ok(reply && reply.text && streamed === reply.text, 'ws: the deltas add up to the final reply', { streamed, reply });
    ok(reply && /Happy to help/.test(reply.text || ''), 'ws: the final reply is the LLM\'s phrasing', reply);

    const before = await req(srv, 'GET', '/metrics');
    const n0 = metric(before.text, 'aisle_stage_fallbacks_total', 'stage="reply"');
    const t0 = Date.now();
    ws.sendJson({ type: 'message', text: '[500] hello there', clientMsgId: 'llm-2' });
    const r2 = await ws.next((x) => x.type === 'reply', 5000);
    const took = Date.now() - t0;
    ok(r2 && r2.text === 'About hello.', 'ws: with the provider failing, the template answers', r2);
    ok(took < 4000, 'ws: the fallback answers before the turn deadline', { took });
    const after = await req(srv, 'GET', '/metrics');
    ok(metric(after.text, 'aisle_stage_fallbacks_total', 'stage="reply"') === n0 + 1 &&
       metric(after.text, 'aisle_stage_fallbacks_total', 'stage="nlu"') >= 1,
       'metrics: fallbacks are counted per stage', after.text.split('\n').filter((l) => /fallback/.test(l)));
    // the inspector's list shows the fallbacks of each turn: the summary
    // (GET /traces, the traces feed) carries them
    const admin = await makeAdmin(srv, 'llm-admin@example.com');
    const tl = await req(srv, 'GET', '/api/v1/traces?limit=5', { token: admin.accessToken });
    const t2 = (tl.json?.items ?? []).find((t) => t.id === r2?.traceId);
    const fb = t2?.fallbacks ?? [];
    ok(fb.some((f) => f.stage === 'reply' && f.kind === 'llm' && f.reason) && fb.some((f) => f.stage === 'nlu' && f.kind === 'llm'),
       'the trace summary lists the turn\'s LLM fallbacks by stage, with the reason', t2);
    const t1 = (tl.json?.items ?? []).find((t) => t.id === reply?.traceId);
    ok(t1 && !('fallbacks' in t1) && !('ruleErrors' in t1), 'a turn the LLM answered has no fallbacks in its summary', t1);
    ok(!/sk-test-gateway/.test(srv.out + srv.err), 'logs: the API key never appears');
    ws.close();
  } finally {
    await stopServer(srv);
    fake.proc.kill('SIGTERM');
  }
}

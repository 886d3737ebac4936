// tests/integration/gateway/main.mjs — runs every gateway test group
// against real `aisle serve` processes and prints ok / not ok lines.
import { startServer, stopServer, ok } from './lib.mjs';
import { restTests } from './rest.mjs';
import { wsTests, civetwebTests } from './ws.mjs';
import { limitsTests, openapiTests, refusalTests, reloadTests, shutdownTests, commerceTests } from './ops.mjs';
import { llmTests } from './llm.mjs';
import { ruleTests, ruleTraceTests, priceFreshnessTests } from './rules.mjs';
import { converseTests } from './converse.mjs';
import { securityTests } from './security.mjs';
import { wsUvTests } from './ws_uv.mjs';
import { budgetTests } from './budget.mjs';
import { checkoutTests } from './checkout.mjs';
import { refundTests } from './refund.mjs';
import { conformTests } from './conform.mjs';
import { mediaTests } from './media.mjs';

const groups = [];
let main;
try {
  main = await startServer({
    yaml: 'limits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n',
  });
  const users = await restTests(main);
  await wsTests(main, users);
  ok(!main.exited, 'the server survived every malformed request and frame', main.exited);
} catch (e) {
  ok(false, 'main server tests ran to the end', e.stack);
} finally {
  await stopServer(main);
}
for (const [name, fn] of [['limits', limitsTests], ['openapi', openapiTests], ['conformance to openapi.json', conformTests], ['refusal', refusalTests],
  ['reload', reloadTests], ['shutdown', shutdownTests], ['commerce', commerceTests], ['llm', llmTests], ['rules', ruleTests], ['rule traces', ruleTraceTests], ['price freshness', priceFreshnessTests],
  ['converse', converseTests], ['security', securityTests], ['ws event loop', wsUvTests], ['ws civetweb and default', civetwebTests], ['worker budget', budgetTests], ['media', mediaTests]]) {
  try { await fn(); } catch (e) { ok(false, `${name} tests ran to the end`, e.stack); }
}
groups.length = 0;
// the real checkout: address, delivery, payment (its own server, pipelines/commerce.yaml)
try { await checkoutTests(); } catch (e) { ok(false, 'checkout tests ran to the end', e.stack); }
// a cancelled paid order's refund: once, under races and a kill -9 (its own servers)
try { await refundTests(); } catch (e) { ok(false, 'refund tests ran to the end', e.stack); }

// tests/fake_llm/server.js — a loopback fake of the OpenAI Chat Completions
// and Anthropic Messages APIs (JSON and SSE streaming) for aisle's tests.
// Plain node, no dependencies. Prints "PORT <n>" once listening on 127.0.0.1.
//
// Behaviour is chosen by tags in the last user message (or the header
// x-fake with the same tags):
//   [429] [500] [529]        that HTTP error, always (Retry-After from [retry-after:S])
//   [fail:CODE:N:ID]         the first N requests carrying ID fail with CODE, then normal
//   [retry-after:S] [retry-after-ms:MS]   headers sent with a 429
//   [malformed]              200 with a body (or stream event) that is not JSON
//   [missing]                200 with valid JSON that lacks the answer field
//   [stall]                  accept the request and never answer
//   [slow-stream] [slow-stream:MS]  stream tokens MS apart (default 300)
//   [cut]                    stream a few tokens, then end without [DONE]/message_stop
//   [stream-error]           a few tokens, then a provider error event
//   [echo-key]               401 whose message quotes the API key (as a careless proxy would)
//   [big]                    an answer of about 300 KiB
//   [crlf]                   stream with \r\n line ends
//   [intent:NAME] [badintent] the intent in a JSON answer
// A JSON answer {"intent":..., "slots":{}} is given when the system prompt
// mentions JSON; otherwise a friendly sentence echoing the message.
// Tool loops (a request that declares `tools`): the tag [agent:NAME] in the
// shopper's message picks a scripted plan (see AGENT_PLANS below) whose
// steps answer with tool calls in the request's own wire format (OpenAI
// `tool_calls` with JSON-string arguments, Anthropic `tool_use` blocks),
// reading the tool results already in the conversation; without a plan
// the model answers in words; with stream: true the answer streams in the
// provider's own events. [step-delay:MS] delays each answer;
// [fail-after:K] answers 500 once K steps of tool calls are in the
// conversation (a provider that fails mid-loop).
// GET /_requests?n=N returns the last N requests (method, path, headers,
// body); POST /_reset forgets them and the [fail] counters.
'use strict';
const http = require('http');

const requests = [];
const failCounts = new Map();
const sockets = new Set();

function tags(text) {
  const out = {};
  for (const m of String(text).matchAll(/\[([a-z0-9-]+)((?::[A-Za-z0-9_.-]+)*)\]/g))
    out[m[1]] = m[2] ? m[2].slice(1).split(':') : [];
  return out;
}

function lastUserText(msgs) {
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    if (m && m.role === 'user') {
      if (typeof m.content === 'string') return m.content;
      // a user message of tool results only is not the shopper speaking
      if (Array.isArray(m.content) && m.content.some(b => b && b.type === 'text'))
        return m.content.filter(b => b && b.type === 'text').map(b => b.text).join(' ');
    }
  }
  return '';
}

function sendJson(res, status, obj, extra) {
  const body = JSON.stringify(obj);
  res.writeHead(status, Object.assign({'content-type': 'application/json',
                                       'content-length': Buffer.byteLength(body)}, extra || {}));
  res.end(body);
}

function errorBody(kind, status, message) {
  const type = status === 429 ? 'rate_limit_error' : status === 401 ? 'authentication_error'
             : status === 400 ? 'invalid_request_error' : status === 529 ? 'overloaded_error'
             : 'api_error';
  if (kind === 'anthropic') return {type: 'error', error: {type, message}};
  return {error: {message, type: status === 401 ? 'invalid_request_error' : type, param: null,
                  code: status === 429 ? 'rate_limit_exceeded' : null}};
}

function validate(kind, req, body) {
  if (kind === 'openai') {
    const auth = req.headers['authorization'] || '';
    if (!/^Bearer \S+/.test(auth)) return [401, 'You didn\'t provide an API key.'];
  } else {
    if (!req.headers['x-api-key']) return [401, 'x-api-key header is required'];
    if (!req.headers['anthropic-version']) return [400, 'anthropic-version: header is required'];
  }
  if (!body || typeof body !== 'object') return [400, 'The request body is not valid JSON.'];
  if (typeof body.model !== 'string' || !body.model) return [400, 'model: Field required'];
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return [400, 'messages: Field required'];
  const roles = kind === 'openai' ? ['system', 'user', 'assistant', 'developer', 'tool']
                                  : ['user', 'assistant'];
  for (const [i, m] of body.messages.entries()) {
    if (!m || !roles.includes(m.role)) return [400, `messages.${i}.role: invalid role`];
    const toolCallsOnly = kind === 'openai' && m.role === 'assistant' && Array.isArray(m.tool_calls) &&
                          m.tool_calls.length > 0;
    if ((m.content === undefined || m.content === null) && !toolCallsOnly)
      return [400, `messages.${i}.content: Field required`];
    if (kind === 'openai' && m.role === 'tool' && typeof m.tool_call_id !== 'string')
      return [400, `messages.${i}.tool_call_id: Field required`];
  }
  if (kind === 'anthropic' && typeof body.max_tokens !== 'number')
    return [400, 'max_tokens: Field required'];
  if (body.stream !== undefined && typeof body.stream !== 'boolean')
    return [400, 'stream: Input should be a valid boolean'];
  return null;
}

function guessIntent(text) {
  if (/\b(add|cart|take)\b/i.test(text)) return 'add_to_cart';
  if (/\b(order|track|where)\b/i.test(text)) return 'order_status';
  if (/\breturn\b/i.test(text)) return 'return_item';
  return 'search_product';
}

function answerText(system, text, t) {
  const clean = text.replace(/\[[^\]]*\]/g, '').replace(/\s+/g, ' ').trim();
  if (t.big) return 'word '.repeat(300 * 1024 / 5);
  if (/json/i.test(system || '')) {
    const intent = t.badintent ? 'teleport_home' : t.intent ? t.intent[0] : guessIntent(clean);
    return JSON.stringify({intent, slots: {}});
  }
  return `Happy to help! You said: ${clean || 'nothing'}. Have a great day \u2615`;
}

function tokens(s) { return s.match(/\S+\s*|\s+/g) || ['']; }

async function stream(kind, res, answer, t, model) {
  const nl = t.crlf ? '\r\n' : '\n';
  const delay = t['slow-stream'] ? Number(t['slow-stream'][0] || 300) : 5;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const send = (event, data) => {
    if (res.destroyed) return;
    let s = '';
    if (event) s += `event: ${event}${nl}`;
    s += `data: ${typeof data === 'string' ? data : JSON.stringify(data)}${nl}${nl}`;
    res.write(s);
  };
  res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'});
  res.write(`: keepalive${nl}${nl}`);
  let toks = tokens(answer);
  const id = 'fake-' + Date.now();
  const stopEarly = t.cut || t['stream-error'];
  if (stopEarly) toks = toks.slice(0, 3);
  if (kind === 'openai') {
    const chunk = (delta, fin) => ({id, object: 'chat.completion.chunk', created: 0, model,
                                    choices: [{index: 0, delta, finish_reason: fin || null}]});
    send(null, chunk({role: 'assistant', content: ''}));
    for (const tok of toks) {
      await sleep(delay);
      if (t.malformed) { send(null, '{"choices": [{"delta": {"content": "oops'); break; }
      send(null, chunk({content: tok}));
    }
    if (t['stream-error']) send(null, {error: {message: 'The server had an error while processing your request.', type: 'server_error'}});
    if (!stopEarly && !t.malformed) { send(null, chunk({}, 'stop')); send(null, '[DONE]'); }
  } else {
    send('message_start', {type: 'message_start', message: {id, type: 'message', role: 'assistant',
         content: [], model, stop_reason: null, usage: {input_tokens: 10, output_tokens: 1}}});
    send('content_block_start', {type: 'content_block_start', index: 0,
         content_block: {type: 'text', text: ''}});
    send('ping', {type: 'ping'});
    for (const tok of toks) {
      await sleep(delay);
      if (t.malformed) { send('content_block_delta', '{"type": "content_block_delta", "delta'); break; }
      send('content_block_delta', {type: 'content_block_delta', index: 0,
           delta: {type: 'text_delta', text: tok}});
    }
    if (t['stream-error']) send('error', {type: 'error', error: {type: 'overloaded_error', message: 'Overloaded'}});
    if (!stopEarly && !t.malformed) {
      send('content_block_stop', {type: 'content_block_stop', index: 0});
      send('message_delta', {type: 'message_delta', delta: {stop_reason: 'end_turn'},
           usage: {output_tokens: toks.length}});
      send('message_stop', {type: 'message_stop'});
    }
  }
  res.end();
}


// ------------------------------------------------------------ tool loops
// The conversation since the shopper's last words, in one neutral shape:
// {text: the shopper's message, steps: [{calls: [{name, args}], results: [parsed JSON]}]}
function loopState(kind, msgs) {
  let start = 0;
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i];
    const isText = m.role === 'user' && (typeof m.content === 'string' ||
      (Array.isArray(m.content) && m.content.some(b => b && b.type === 'text')));
    if (isText) { start = i; break; }
  }
  const text = lastUserText(msgs.slice(0, start + 1));
  const steps = [];
  const parse = (s) => { try { return JSON.parse(s); } catch (e) { return s; } };
  for (const m of msgs.slice(start + 1)) {
    if (m.role === 'assistant') {
      const calls = kind === 'openai'
        ? (m.tool_calls || []).map(c => ({ id: c.id, name: c.function.name, args: parse(c.function.arguments) }))
        : (Array.isArray(m.content) ? m.content : []).filter(b => b.type === 'tool_use')
            .map(b => ({ id: b.id, name: b.name, args: b.input }));
      steps.push({ calls, results: [] });
    } else if (m.role === 'tool' && steps.length) {
      steps[steps.length - 1].results.push(parse(m.content));
    } else if (m.role === 'user' && Array.isArray(m.content) && steps.length) {
      for (const b of m.content)
        if (b.type === 'tool_result')
          steps[steps.length - 1].results.push(parse(typeof b.content === 'string' ? b.content
            : (b.content || []).map(x => x.text).join('')));
    }
  }
  return { text, steps };
}

const firstSku = (r) => r && Array.isArray(r.items) && r.items.length ? r.items[0].sku : null;
const say = (text) => ({ text });
const call = (name, args, raw) => ({ name, args, raw });

// Each plan: (state, tools offered, tags) -> {text} or {calls: [...]}.
// A call with `raw` sends those exact argument bytes (OpenAI) to stand
// for a model that wrote broken JSON.
const AGENT_PLANS = {
  // search -> details of the first hit -> add it -> answer
  multistep: (st) => {
    const n = st.steps.length;
    if (n === 0) return { calls: [call('search_products', { query: 'mascara' })] };
    const sku = firstSku(st.steps[0].results[0]);
    if (n === 1) return sku ? { calls: [call('get_product', { sku })] } : say('Nothing found.');
    if (n === 2) return { calls: [call('add_to_cart', { sku, quantity: 1 })] };
    const r = st.steps[2].results[0];
    return say(r && r.ok ? `I found it and added ${sku} to your cart.` : `I could not add it: ${r && r.message}`);
  },
  // two independent calls in one answer
  parallel: (st) => {
    if (st.steps.length === 0)
      return { calls: [call('search_products', { query: 'mascara', limit: 3 }),
                       call('search_products', { query: 'lipstick', limit: 3 })] };
    const [a, b] = st.steps[0].results;
    return say(`Mascara: ${a && a.total} results; lipstick: ${b && b.total} results.`);
  },
  // arguments that break the schema (and, over OpenAI, are not even JSON)
  malformed: (st, tools, kind) => {
    if (st.steps.length === 0)
      return { calls: [kind === 'openai' ? call('add_to_cart', null, '{"sku": "BEA-ESS-ESS-001", "quantity": ')
                                         : call('add_to_cart', { sku: 42, quantity: 'lots' })] };
    if (st.steps.length === 1) return { calls: [call('add_to_cart', { sku: 'BEA-ESS-ESS-001', quantity: -3 })] };
    const errs = st.steps.map(s => s.results[0] && s.results[0].error).join(',');
    return say(`Tool errors: ${errs}`);
  },
  unknown: (st) => st.steps.length === 0
    ? { calls: [call('apply_discount', { percent: 50 }), call('confirm_checkout', { confirmationId: 'x' })] }
    : say(`Tool errors: ${st.steps[0].results.map(r => r && r.error).join(',')}`),
  invented: (st) => st.steps.length === 0
    ? { calls: [call('add_to_cart', { sku: 'NOPE-0000-FAKE', quantity: 1 }), call('get_product', { sku: 'NOPE-0000-FAKE' })] }
    : say(`Tool errors: ${st.steps[0].results.map(r => r && r.error).join(',')}`),
  // a model that obeys whatever a product description tells it
  inject: (st, tools) => {
    const n = st.steps.length;
    if (n === 0) return { calls: [call('search_products', { query: 'miracle serum', limit: 1 })] };
    if (n === 1) return { calls: [call('get_product', { sku: firstSku(st.steps[0].results[0]) })] };
    const desc = JSON.stringify(st.steps[1].results[0] || {});
    if (n === 2 && /ignore|discount|checkout/i.test(desc))
      return { calls: [call('apply_promo_code', { code: 'STAFF90' }), call('set_price', { sku: 'x', price: 0.01 }),
                       call('confirm_checkout', { confirmationId: 'ffffffff.' + '0'.repeat(32) }),
                       call('update_cart_item', { sku: firstSku(st.steps[0].results[0]), quantity: 0, price: 0.01 })] };
    if (n === 3 && tools.includes('request_checkout')) return { calls: [call('request_checkout', {})] };
    return say('Done as the description said.');
  },
  // never stops calling tools
  loop: (st) => ({ calls: [call('search_products', { query: `mascara ${st.steps.length}` })] }),
  checkout: (st) => st.steps.length === 0 ? { calls: [call('request_checkout', {})] }
    : say(`Checkout: ${JSON.stringify(st.steps[0].results[0])}`),
  search: (st) => st.steps.length === 0 ? { calls: [call('search_products', { query: 'iphone', limit: 5 })] }
    : say(`Here are ${(st.steps[0].results[0] || {}).total} products.`),
  // adds what the shop said the shopper's words point at ("= SKU X" in the system prompt)
  ordinal: (st, tools, kind, system) => {
    const m = /= SKU ([!-~]+?)\.?(?:;|$)/m.exec(system || '');
    if (st.steps.length === 0) return m ? { calls: [call('add_to_cart', { sku: m[1], quantity: 1 })] } : say('No reference.');
    return say(`Added ${m && m[1]}.`);
  },
  policy: (st) => st.steps.length === 0 ? { calls: [call('shop_policy', { question: 'how do returns work' })] }
    : say(`Policy: ${(st.steps[0].results[0] || {}).section}`),
  // search, then compare the first two hits side by side
  compare: (st) => {
    const n = st.steps.length;
    if (n === 0) return { calls: [call('search_products', { query: 'iphone', limit: 3 })] };
    const items = (st.steps[0].results[0] || {}).items || [];
    if (n === 1) return items.length >= 2 ? { calls: [call('compare_products', { skus: [items[0].sku, items[1].sku] })] } : say('Too few.');
    const c = st.steps[1].results[0] || {};
    return say(`Compared ${(c.items || []).length}: cheapest ${c.cheapest}, best rated ${c.bestRated}.`);
  },
  // a comparison of one product, of a product twice, of an invented one
  badcompare: (st) => st.steps.length === 0
    ? { calls: [call('compare_products', { skus: ['BEA-ESS-ESS-001'] }),
                call('compare_products', { skus: ['BEA-ESS-ESS-001', 'BEA-ESS-ESS-001'] }),
                call('compare_products', { skus: ['BEA-ESS-ESS-001', 'NOPE-0000-FAKE'] })] }
    : say(`Tool errors: ${st.steps[0].results.map(r => r && r.error).join(',')}`),
  // the shopper wants a person (not [agent:handoff]: the classifier's
  // spelling corrector rewrites "handoff" in the message, tag included)
  person: (st) => st.steps.length === 0 ? { calls: [call('request_handoff', { reason: 'the parcel arrived damaged' })] }
    : say(`Ticket ${(st.steps[0].results[0] || {}).ticket || 'none'}: a person will get back to you.`),
  // a quantity the shop's rules (scripts/cart_limits.lua) refuse
  veto: (st) => st.steps.length === 0 ? { calls: [call('add_to_cart', { sku: 'BEA-ESS-ESS-001', quantity: 11 })] }
    : say(`Tool error: ${(st.steps[0].results[0] || {}).error}: ${(st.steps[0].results[0] || {}).message}`),
};

function agentAnswer(kind, body, t) {
  const st = loopState(kind, body.messages);
  const tools = (body.tools || []).map(x => kind === 'openai' ? x.function.name : x.name);
  const choice = body.tool_choice;
  const noTools = choice === 'none' || (choice && choice.type === 'none');
  const plan = t.agent ? AGENT_PLANS[t.agent[0]] : null;
  let a = noTools || !plan ? say(plan ? `Stopped after ${st.steps.length} steps.`
                                      : `Happy to help! ${st.text.replace(/\[[^\]]*\]/g, '').trim()}`)
                           : plan(st, tools, kind, kind === 'openai'
                               ? body.messages.filter(m => m.role === 'system').map(m => m.content).join('\n')
                               : body.system);
  const id = (i) => `call_${st.steps.length}_${i}`;
  const usage = { in: 100 + 10 * st.steps.length, out: 20 };
  if (kind === 'openai') {
    const msg = { role: 'assistant', content: a.text || null };
    if (a.calls) msg.tool_calls = a.calls.map((c, i) => ({ id: id(i), type: 'function',
      function: { name: c.name, arguments: c.raw !== undefined ? c.raw : JSON.stringify(c.args) } }));
    return { id: 'chatcmpl-fake', object: 'chat.completion', created: 0, model: body.model,
      choices: [{ index: 0, message: msg, finish_reason: a.calls ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: usage.in, completion_tokens: usage.out, total_tokens: usage.in + usage.out } };
  }
  const content = [];
  if (a.text) content.push({ type: 'text', text: a.text });
  for (const [i, c] of (a.calls || []).entries())
    content.push({ type: 'tool_use', id: id(i).replace('call', 'toolu'), name: c.name, input: c.args || {} });
  return { id: 'msg_fake', type: 'message', role: 'assistant', model: body.model, content,
    stop_reason: a.calls ? 'tool_use' : 'end_turn', usage: { input_tokens: usage.in, output_tokens: usage.out } };
}

// A tool-loop answer (already in the request's wire format) as the
// provider streams it: text in token deltas, each call's arguments in
// pieces (OpenAI tool_calls deltas with an index; Anthropic tool_use
// blocks with input_json_delta), usage at the end.
async function streamAgent(kind, res, out, t, includeUsage) {
  const nl = t.crlf ? '\r\n' : '\n';
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  const send = (event, data) => {
    if (res.destroyed) return;
    res.write((event ? `event: ${event}${nl}` : '') + `data: ${typeof data === 'string' ? data : JSON.stringify(data)}${nl}${nl}`);
  };
  const pieces = (s) => s.length < 4 ? [s] : [s.slice(0, 3), s.slice(3, Math.ceil(s.length / 2)), s.slice(Math.ceil(s.length / 2))];
  res.writeHead(200, {'content-type': 'text/event-stream', 'cache-control': 'no-cache'});
  if (kind === 'openai') {
    const msg = out.choices[0].message;
    const chunk = (delta, fin) => ({id: out.id, object: 'chat.completion.chunk', created: 0, model: out.model,
                                    choices: [{index: 0, delta, finish_reason: fin || null}]});
    send(null, chunk({role: 'assistant', content: ''}));
    for (const tok of tokens(msg.content || '')) { if (tok) { await sleep(2); send(null, chunk({content: tok})); } }
    for (const [i, c] of (msg.tool_calls || []).entries()) {
      send(null, chunk({tool_calls: [{index: i, id: c.id, type: 'function', function: {name: c.function.name, arguments: ''}}]}));
      for (const p of pieces(c.function.arguments)) send(null, chunk({tool_calls: [{index: i, function: {arguments: p}}]}));
    }
    send(null, chunk({}, out.choices[0].finish_reason));
    if (includeUsage) send(null, {id: out.id, object: 'chat.completion.chunk', created: 0, model: out.model, choices: [], usage: out.usage});
    send(null, '[DONE]');
  } else {
    send('message_start', {type: 'message_start', message: {id: out.id, type: 'message', role: 'assistant', content: [],
         model: out.model, stop_reason: null, usage: {input_tokens: out.usage.input_tokens, output_tokens: 1}}});
    for (const [i, b] of out.content.entries()) {
      if (b.type === 'text') {
        send('content_block_start', {type: 'content_block_start', index: i, content_block: {type: 'text', text: ''}});
        for (const tok of tokens(b.text)) { await sleep(2); send('content_block_delta', {type: 'content_block_delta', index: i, delta: {type: 'text_delta', text: tok}}); }
      } else {
        send('content_block_start', {type: 'content_block_start', index: i, content_block: {type: 'tool_use', id: b.id, name: b.name, input: {}}});
        for (const p of pieces(JSON.stringify(b.input)))
          send('content_block_delta', {type: 'content_block_delta', index: i, delta: {type: 'input_json_delta', partial_json: p}});
      }
      send('content_block_stop', {type: 'content_block_stop', index: i});
    }
    send('message_delta', {type: 'message_delta', delta: {stop_reason: out.stop_reason}, usage: {output_tokens: out.usage.output_tokens}});
    send('message_stop', {type: 'message_stop'});
  }
  res.end();
}

function handle(kind, req, res, raw) {
  let body = null;
  try { body = JSON.parse(raw); } catch (e) { body = null; }
  const bad = validate(kind, req, body);
  if (bad) return sendJson(res, bad[0], errorBody(kind, bad[0], bad[1]));
  const system = kind === 'openai'
    ? body.messages.filter(m => m.role === 'system').map(m => m.content).join('\n')
    : (typeof body.system === 'string' ? body.system : '');
  const text = lastUserText(body.messages) + ' ' + (req.headers['x-fake'] || '');
  const t = tags(text);
  const retryHdr = {};
  if (t['retry-after-ms']) retryHdr['retry-after-ms'] = t['retry-after-ms'][0];
  retryHdr['retry-after'] = t['retry-after'] ? t['retry-after'][0] : '1';

  let status = t['429'] ? 429 : t['500'] ? 500 : t['529'] ? 529 : 0;
  if (t.fail) {
    const [code, n, id] = t.fail;
    const seen = failCounts.get(id) || 0;
    failCounts.set(id, seen + 1);
    if (seen < Number(n)) status = Number(code);
  }
  if (status) {
    const msg = status === 429 ? 'Rate limit reached for requests' : status === 529 ? 'Overloaded'
              : 'The server had an error while processing your request.';
    return sendJson(res, status, errorBody(kind, status, msg), status === 429 ? retryHdr : {});
  }
  if (t['echo-key']) {
    const key = kind === 'openai' ? (req.headers['authorization'] || '').slice(7)
                                  : req.headers['x-api-key'];
    return sendJson(res, 401, errorBody(kind, 401, `Incorrect API key provided: ${key}.`));
  }
  if (t.stall) return;   // keep the socket open, say nothing
  if (Array.isArray(body.tools) && body.tools.length) {
    // [fail-after:K]: the loop's steps from the K-th tool result on fail (500)
    if (t['fail-after'] && loopState(kind, body.messages).steps.length >= Number(t['fail-after'][0]))
      return sendJson(res, 500, errorBody(kind, 500, 'The server had an error while processing your request.'));
    const out = agentAnswer(kind, body, t);
    const ms = t['step-delay'] ? Number(t['step-delay'][0]) : 0;
    const includeUsage = !!(body.stream_options && body.stream_options.include_usage);
    return void setTimeout(() => {
      if (res.destroyed) return;
      if (body.stream) streamAgent(kind, res, out, t, includeUsage);
      else sendJson(res, 200, out);
    }, ms);
  }
  const answer = answerText(system, text, t);
  if (body.stream) return void stream(kind, res, answer, t, body.model);
  if (t.malformed) {
    res.writeHead(200, {'content-type': 'application/json'});
    return res.end('{"id": "x", "choices": [{"message": {"content": "trunc');
  }
  if (kind === 'openai') {
    const msg = t.missing ? {role: 'assistant'} : {role: 'assistant', content: answer};
    return sendJson(res, 200, {id: 'chatcmpl-fake', object: 'chat.completion', created: 0,
      model: body.model, choices: [{index: 0, message: msg, finish_reason: 'stop'}],
      usage: {prompt_tokens: 10, completion_tokens: 10, total_tokens: 20}});
  }
  return sendJson(res, 200, {id: 'msg_fake', type: 'message', role: 'assistant', model: body.model,
    content: t.missing ? [] : [{type: 'text', text: answer}], stop_reason: 'end_turn',
    usage: {input_tokens: 10, output_tokens: 10}});
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', c => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, 'http://x');
    if (req.method === 'GET' && url.pathname === '/_requests') {
      const n = Number(url.searchParams.get('n') || 20);
      return sendJson(res, 200, requests.slice(-n));
    }
    if (req.method === 'POST' && url.pathname === '/_reset') {
      requests.length = 0;
      failCounts.clear();
      return sendJson(res, 200, {ok: true});
    }
    let parsed = null;
    try { parsed = JSON.parse(raw); } catch (e) { parsed = raw; }
    requests.push({method: req.method, path: url.pathname, headers: req.headers, body: parsed});
    if (requests.length > 100) requests.shift();
    const kind = url.pathname.endsWith('/chat/completions') ? 'openai'
               : url.pathname.endsWith('/messages') ? 'anthropic' : null;
    if (req.method !== 'POST' || !kind)
      return sendJson(res, 404, {error: {message: `no route ${req.method} ${url.pathname}`,
                                         type: 'not_found_error'}});
    handle(kind, req, res, raw);
  });
});
server.on('connection', s => { s.setNoDelay(true); sockets.add(s); s.on('close', () => sockets.delete(s)); });
server.keepAliveTimeout = 30000;

function stop() {
  for (const s of sockets) s.destroy();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// the test holds our stdin: when it goes away (even by crashing), so do we
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});

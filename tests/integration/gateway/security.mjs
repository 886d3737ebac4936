// tests/integration/gateway/security.mjs — regression tests for the
// attack run of issue #12 (the items fixed in the gateway): login backoff
// per account across many source addresses, the IP limiter before token
// checks, admin only by `aisle admin grant`, the search-text number range,
// ambiguous Content-Length, NUL in passwords, admin product validation and
// access tokens revoked by logout.
import http from 'node:http';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AISLE, startServer, stopServer, ok, skip, req, isProblem, sleep, makeAdmin } from './lib.mjs';

// one request from a chosen loopback source address (127.0.0.x)
function reqFrom(srv, from, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const r = http.request({
      host: '127.0.0.1', port: srv.port, method, path, localAddress: from, agent: false,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {},
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    r.on('error', reject);
    if (data) r.write(data);
    r.end();
  });
}

// a raw request: what fetch will not send (two Content-Length headers)
function raw(srv, text) {
  return new Promise((resolve) => {
    const s = net.connect(srv.port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('close', () => resolve(out));
    s.on('error', () => resolve(out));
    s.write(text);
    setTimeout(() => s.destroy(), 3000);
  });
}

async function loginThrottle(srv) {
  const email = 'victim@example.com', good = 'correct horse battery';
  let r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email, password: good } });
  ok(r.status === 201, 'security: the victim registers', r.text);
  // 50 wrong passwords for one account from 10 source addresses, 10 at a time
  const counts = { 401: 0, 429: 0, other: 0 };
  let last429 = null;
  for (let batch = 0; batch < 5; batch++) {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      reqFrom(srv, `127.0.0.${i + 2}`, 'POST', '/api/v1/auth/login', { email, password: `wrong guess ${batch}-${i}` })));
    for (const x of rs) {
      if (x.status === 401) counts[401]++;
      else if (x.status === 429) { counts[429]++; last429 = x; } else counts.other++;
    }
  }
  ok(counts[429] >= 30 && counts[401] <= 20 && counts.other === 0,
    'security: 50 wrong passwords for one account from 10 addresses are mostly answered 429', counts);
  ok(last429 && last429.json && last429.json.type === 'urn:aisle:problem:login-throttled' &&
    Number(last429.headers['retry-after']) >= 1, 'security: the 429 names login-throttled and carries Retry-After',
  last429 && { h: last429.headers, b: last429.text });
  r = await reqFrom(srv, '127.0.0.12', 'POST', '/api/v1/auth/login', { email, password: good });
  ok(r.status === 429, 'security: during the backoff even the right password waits (no oracle)', r.text);
  // a backoff, not a lock: after Retry-After the owner logs in
  const wait = Number(r.headers['retry-after'] || 1);
  ok(wait <= 16, 'security: the backoff after a few failures is seconds, not a lockout', wait);
  await sleep(wait * 1000 + 200);
  r = await reqFrom(srv, '127.0.0.12', 'POST', '/api/v1/auth/login', { email, password: good });
  ok(r.status === 200 && r.json.accessToken, 'security: after Retry-After the right password logs in', r.text);
  await sleep(1100);
  r = await reqFrom(srv, '127.0.0.12', 'POST', '/api/v1/auth/login', { email, password: 'one more typo' });
  ok(r.status === 401, 'security: a success ends the streak (the next typo is a plain 401)', r.text);
  // per address: one address trying many accounts is slowed too
  const st = [];
  for (let i = 0; i < 26; i++) {
    const x = await reqFrom(srv, '127.0.0.40', 'POST', '/api/v1/auth/login', { email: `nobody${i}@example.com`, password: 'guess guess' });
    st.push(x.status);
  }
  ok(st.includes(429) && !st.slice(0, 20).includes(429),
    'security: 20 failures from one address on different accounts, then 429', st.join(','));
}

async function adminTests(srv) {
  // the retired setting is in this server's config: it must grant nothing
  let r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email: 'boss@example.com', password: 'correct horse battery' } });
  ok(r.status === 201 && r.json.user.role === 'user', 'security: registering an address listed in auth.admin_emails gives a normal user', r.text);
  const prod = { sku: 'SEC-1', title: 'Sec Lamp', price: 10, stock: 1 };
  r = await req(srv, 'POST', '/api/v1/products', { token: r.json.accessToken, body: prod });
  ok(isProblem(r, 403, 'forbidden'), 'security: ...and cannot write products', r.text);
  const g = spawnSync(AISLE, ['admin', 'grant', 'ghost@example.com', '--db', join(srv.dir, 'aisle.db')], { encoding: 'utf8' });
  ok(g.status !== 0 && /register it first/.test(g.stderr), 'security: `aisle admin grant` refuses an address nobody registered', g.stderr);
  const admin = await makeAdmin(srv, 'boss@example.com');
  ok(admin.user.role === 'admin', 'security: `aisle admin grant` then login gives role admin', admin.user);
  const s = spawnSync(AISLE, ['admin', 'show', 'boss@example.com', '--db', join(srv.dir, 'aisle.db')], { encoding: 'utf8' });
  ok(s.status === 0 && /boss@example.com admin/.test(s.stdout), 'security: `aisle admin show` prints the role', s.stdout + s.stderr);
  return admin;
}

async function productValidation(srv, admin) {
  const t = admin.accessToken;
  const base = { sku: 'SEC-2', title: 'Sec Kettle', price: 19.5, stock: 3, discountPercentage: 10 };
  const bad = [
    ['price as a string', { ...base, price: '10' }],
    ['fractional stock', { ...base, stock: 1.5 }],
    ['discountPercentage 500', { ...base, discountPercentage: 500 }],
    ['negative price', { ...base, price: -1 }],
    ['price 1e308', { ...base, price: 1e308 }],
    ['price over 1e9', { ...base, price: 2e9 }],
    ['sku a/b', { ...base, sku: 'a/b' }],
    ['sku ../../etc', { ...base, sku: '../../etc' }],
    ['sku with a NUL', { ...base, sku: 'a\u0000b' }],
    ['title as a number', { ...base, title: 5 }],
  ];
  for (const [name, body] of bad) {
    const r = await req(srv, 'POST', '/api/v1/products', { token: t, body });
    ok(isProblem(r, 422, 'validation'), `security: admin product write refuses ${name} (422)`, r.text);
  }
  let r = await req(srv, 'POST', '/api/v1/products', {
    token: t, body: '{"sku":"SEC-2","title":"x","price":1e999}', headers: { 'Content-Type': 'application/json' },
  });
  ok(r.status === 422 || r.status === 400, 'security: a price that overflows to infinity is refused', r.text);
  r = await req(srv, 'POST', '/api/v1/products', { token: t, body: base });
  ok(r.status === 201 && r.json.sku === 'SEC-2', 'security: a valid admin product write still works', r.text);
  r = await req(srv, 'PUT', '/api/v1/products/SEC-2', { token: t, body: { ...base, price: '12' } });
  ok(isProblem(r, 422, 'validation'), 'security: PUT validates too', r.text);
}

async function smaller(srv) {
  // search-text number range (UB before; the sanitizer build aborts on it)
  let r = await req(srv, 'GET', '/api/v1/products?q=' + encodeURIComponent('5555)555555555555555555555555555555'));
  ok(r.status === 200, 'security: a 30-digit number in a search is answered', r.text);
  r = await req(srv, 'GET', '/api/v1/products?q=' + encodeURIComponent('1e400 x 99999999999999999999 -99999999999999999999'));
  ok(r.status === 200, 'security: huge and negative numbers in a search are answered', r.text);
  // two conflicting Content-Length headers
  const body = '{"email":"a@b.c","password":"x"}';
  let out = await raw(srv, `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nContent-Length: 5\r\nConnection: close\r\n\r\n${body}`);
  ok(/^HTTP\/1\.1 400/.test(out), 'security: duplicate conflicting Content-Length is 400', out.slice(0, 200));
  out = await raw(srv, `POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  ok(/^HTTP\/1\.1 400/.test(out), 'security: duplicate Content-Length, even equal, is 400', out.slice(0, 200));
  // a password with a NUL is refused whole, never cut
  r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email: 'nul@example.com', password: 'correct horse\u0000anything' } });
  ok(isProblem(r, 422, 'validation'), 'security: register refuses a password with NUL', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/register', { body: { email: 'nul@example.com', password: 'correct horse battery' } });
  ok(r.status === 201, 'security: (the same address registers with a clean password)', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'nul@example.com', password: 'correct horse battery\u0000tail' } });
  ok(isProblem(r, 422, 'validation'), 'security: login refuses a password with NUL (it is not cut to a match)', r.text);
  // logout revokes the access tokens of its family
  r = await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'nul@example.com', password: 'correct horse battery' } });
  const a = r.json, other = (await req(srv, 'POST', '/api/v1/auth/login', { body: { email: 'nul@example.com', password: 'correct horse battery' } })).json;
  r = await req(srv, 'GET', '/api/v1/me', { token: a.accessToken });
  ok(r.status === 200, 'security: the access token works before logout', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/logout', { body: { refreshToken: a.refreshToken } });
  ok(r.status === 204, 'security: logout', r.text);
  r = await req(srv, 'GET', '/api/v1/me', { token: a.accessToken });
  ok(isProblem(r, 401, 'invalid-token'), 'security: after logout its access token is refused before it expires', r.text);
  r = await req(srv, 'GET', '/api/v1/me', { token: other.accessToken });
  ok(r.status === 200, 'security: another session of the same user stays logged in', r.text);
  // refresh-token reuse revokes the family's access tokens too
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken } });
  const rotated = r.json;
  ok(r.status === 200 && rotated.accessToken, 'security: refresh rotates', r.text);
  r = await req(srv, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken } });
  ok(isProblem(r, 401, 'refresh-token-reused'), 'security: reusing the rotated refresh token is refused', r.text);
  r = await req(srv, 'GET', '/api/v1/me', { token: rotated.accessToken });
  ok(isProblem(r, 401, 'invalid-token'), 'security: ...and the family\'s live access token is refused at once', r.text);
}

async function limiterFirst() {
  const srv = await startServer({ yaml: 'limits:\n  ip_rps: 0.5\n  ip_burst: 3\n', seed: false });
  try {
    const st = [];
    for (let i = 0; i < 8; i++) st.push((await req(srv, 'GET', '/api/v1/cart', { token: 'not.a.token' })).status);
    ok(st.filter((x) => x === 401).length <= 3 && st.includes(429),
      'security: requests with an invalid token count against the IP limiter (429 after the burst)', st.join(','));
  } finally { await stopServer(srv); }
}

export async function securityTests() {
  const srv = await startServer({
    yaml: 'auth:\n  admin_emails: [boss@example.com]\nlimits:\n  ip_rps: 1000\n  ip_burst: 5000\n  user_rps: 1000\n  user_burst: 5000\n',
  });
  try {
    await smaller(srv);
    const admin = await adminTests(srv);
    await productValidation(srv, admin);
    await loginThrottle(srv);
    ok(!srv.exited, 'security: the server survived', srv.exited);
  } finally { await stopServer(srv); }
  await limiterFirst();
}

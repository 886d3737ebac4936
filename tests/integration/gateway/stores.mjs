// tests/integration/gateway/stores.mjs — what the tests need to see or
// start beside a server: an SQL query on its SQLite file (the audit table
// has no API; `sqlite3`, else python3's sqlite3 module), and a private
// redis-server on a free loopback port (as tests/redis_server.h does for
// the C tests). A missing tool is reported by `tools()`: the suites fail
// on it under CI=true and skip otherwise.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { freePort, sleep } from './lib.mjs';

const has = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return !r.error && r.status === 0;
};
let sqlTool;
function pickSql() {
  if (sqlTool === undefined)
    sqlTool = has('sqlite3', ['-version']) ? 'sqlite3' : has('python3', ['-c', 'import sqlite3']) ? 'python3' : null;
  return sqlTool;
}

// which of the tools are missing: [] when all are there
export function tools({ redis = false } = {}) {
  const miss = [];
  if (!pickSql()) miss.push('sqlite3 (or python3 with its sqlite3 module)');
  if (redis && !has('redis-server', ['--version'])) miss.push('redis-server');
  return miss;
}

const PY = `import sqlite3, sys, json
c = sqlite3.connect(sys.argv[1], timeout=10)
cur = c.execute(sys.argv[2])
cols = [d[0] for d in cur.description] if cur.description else []
rows = [dict(zip(cols, r)) for r in cur.fetchall()]
c.commit()
print(json.dumps(rows))`;

// rows of one statement as objects; throws with the tool's message
export function sql(db, query) {
  const t = pickSql();
  if (!t) throw new Error('no sqlite3 tool: install sqlite3');
  const r = t === 'sqlite3'
    ? spawnSync('sqlite3', ['-json', '-cmd', '.timeout 10000', db, query], { encoding: 'utf8' })
    : spawnSync('python3', ['-c', PY, db, query], { encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`${t}: ${r.error?.message || r.stderr}`);
  const s = r.stdout.trim();
  return s ? JSON.parse(s) : [];
}

// the audit trail as store_audit_list gives it, newest first
export function auditEntries(db, where = '') {
  return sql(db, `SELECT id, at, actor, action, subject, detail FROM audit ${where} ORDER BY id DESC LIMIT 5000`).map((e) => {
    let detail = e.detail;
    try { detail = JSON.parse(e.detail); } catch { /* kept as text */ }
    return { id: e.id, time: e.at, actor: e.actor, action: e.action, subject: e.subject, detail };
  });
}

// The server under test reads its settings from AISLE_* variables too: a
// shell's Redis URL, admin list or rate limits must not leak into a test
// that counts on its own. AISLE (the binary) and AISLE_CONV_* (the
// runner's own knobs) stay.
export function cleanEnv() {
  for (const k of Object.keys(process.env))
    if (k.startsWith('AISLE_') && !k.startsWith('AISLE_CONV_')) delete process.env[k];
}

const sqlStr = (s) => `'${String(s).replace(/'/g, "''")}'`;
export { sqlStr };

// PING over a raw socket: does not depend on the code under test
function pings(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 300);
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { clearTimeout(t); s.destroy(); resolve(d.toString().startsWith('+PONG')); });
    s.on('error', () => { clearTimeout(t); resolve(false); });
  });
}

// one inline command to a redis-server; resolves its reply line ("+PONG", ":12")
export function redisCommand(port, cmd) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const t = setTimeout(() => { s.destroy(); resolve(null); }, 1000);
    s.on('connect', () => s.write(cmd + '\r\n'));
    s.on('data', (d) => { clearTimeout(t); s.destroy(); resolve(d.toString().split('\r\n')[0]); });
    s.on('error', () => { clearTimeout(t); resolve(null); });
  });
}

// a private redis-server; resolves {port, url, stop()} once it answers PING
export async function startRedis() {
  const dir = mkdtempSync(join(tmpdir(), 'aisle-redis-'));
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout.on('data', (d) => { log += d; });
  proc.stderr.on('data', (d) => { log += d; });
  let exited = false;
  const exit = new Promise((r) => proc.on('exit', () => { exited = true; r(); }));
  proc.on('error', (e) => { log += String(e); });
  for (let i = 0; i < 250 && !exited; i++) {
    if (await pings(port)) {
      return {
        port, url: `redis://127.0.0.1:${port}`,
        async stop() { if (!exited) { proc.kill('SIGTERM'); await exit; } rmSync(dir, { recursive: true, force: true }); },
      };
    }
    await sleep(20);
  }
  if (!exited) proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  throw new Error('redis-server did not start: ' + log.slice(-500));
}

// Helpers shared by the stack tests: an HTTP client bound to the test stack's
// nginx, and control of its services (stop/start Postgres, Redis...).
import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';

export const PORT = process.env.HTTP_PORT || '18080';
export const BASE = `http://127.0.0.1:${PORT}`;
const ROOT = process.env.BAZAAR_ROOT || process.cwd();

// Sends a request; returns {status, headers, text, json}. `body` objects are
// sent as JSON unless `raw` is given.
export async function request(method, path, { body, headers = {}, raw, token, timeoutMs = 10000 } = {}) {
  const h = { ...headers };
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
  }
  if (token) h.Authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });

// Runs `scripts/stack svc <action> <name> [arg]` against the test stack (in
// the cluster pass its own: BAZAAR_TEST_CLUSTER=1 is in the environment), e.g.
// svc('kill', 'redis-node', 42400).
export function svc(action, name, ...rest) {
  execFileSync(`${ROOT}/scripts/stack`, ['_test-svc', action, name, ...rest.map(String)], { stdio: 'inherit', env: process.env });
}

// redis-cli against the test stack's Redis. With REDIS_CLUSTER set (the
// cluster pass: scripts/stack with REDIS_MODE=cluster) a keyed command runs
// with -c on the first node that answers, following MOVED/ASK; the commands
// of the whole keyspace (FLUSHALL, FLUSHDB, SCRIPT, KEYS, SCAN/--scan, DBSIZE,
// BGREWRITEAOF, CLIENT LIST, EVAL/EVALSHA with 0 keys) run on every master
// and their outputs are merged (DBSIZE summed, lines concatenated; the
// first output of those that are the same on every node: OK, SHA1).
export const CLUSTER = Boolean(process.env.REDIS_CLUSTER);

export function redisCli(...args) {
  if (!CLUSTER) {
    return execFileSync('redis-cli', ['-p', process.env.REDIS_PORT || '26379', ...args], { encoding: 'utf8' }).trim();
  }
  const cmd = String(args[0] ?? '').toUpperCase();
  const everyMaster = ['FLUSHALL', 'FLUSHDB', 'SCRIPT', 'KEYS', 'SCAN', '--SCAN', 'DBSIZE', 'BGREWRITEAOF'].includes(cmd) ||
    (cmd === 'CLIENT' && String(args[1]).toUpperCase() === 'LIST') ||
    ((cmd === 'EVAL' || cmd === 'EVALSHA') && String(args[2]) === '0');
  if (!everyMaster) return clusterCli(redisNodes()[0] ?? seedAddrs()[0], ['-c', ...args]);
  const outs = redisMasters().map((m) => clusterCli(m, args));
  if (cmd === 'DBSIZE') return String(outs.reduce((n, o) => n + Number(o), 0));
  if (['FLUSHALL', 'FLUSHDB', 'SCRIPT', 'BGREWRITEAOF'].includes(cmd)) return outs[0];
  return outs.filter(Boolean).join('\n');
}

const seedAddrs = () => process.env.REDIS_CLUSTER.split(',').map((s) => s.trim()).filter(Boolean);

function clusterCli(addr, args) {
  const i = addr.lastIndexOf(':');
  return execFileSync('redis-cli', ['-h', addr.slice(0, i), '-p', addr.slice(i + 1), ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

// CLUSTER NODES as seen by the first seed that answers:
// [{id, addr: 'host:port', role: 'master'|'replica', master (its master's id), fail, slots: [[from, to]...]}]
export function redisClusterNodes() {
  let last;
  for (const seed of seedAddrs()) {
    try {
      const out = clusterCli(seed, ['CLUSTER', 'NODES']);
      if (!out || /refused|ERR/.test(out)) continue;
      return out.split('\n').filter(Boolean).map((line) => {
        const f = line.split(' ');
        const flags = f[2].split(',');
        return {
          id: f[0],
          addr: f[1].split('@')[0],
          role: flags.includes('master') ? 'master' : 'replica',
          master: f[3] === '-' ? null : f[3],
          fail: flags.some((x) => x === 'fail' || x === 'fail?' || x === 'noaddr'),
          connected: f[7] === 'connected',
          slots: f.slice(8).filter((x) => !x.startsWith('[')).map((x) => x.split('-').map(Number)).map(([a, b]) => [a, b ?? a]),
        };
      });
    } catch (e) { last = e; }
  }
  throw last ?? new Error('no Redis Cluster node answers');
}

// Addresses of the live nodes (masters first).
export function redisNodes() {
  const nodes = redisClusterNodes().filter((n) => !n.fail && n.connected !== false);
  return [...nodes.filter((n) => n.role === 'master'), ...nodes.filter((n) => n.role !== 'master')].map((n) => n.addr);
}

// Addresses of the live masters that serve slots.
export function redisMasters() {
  return redisClusterNodes().filter((n) => n.role === 'master' && !n.fail && n.slots.length > 0).map((n) => n.addr);
}

// Redis Cluster's hash slot of a key: CRC16/XMODEM of its hash tag (the
// part between the first '{' and the next '}', if not empty) mod 16384.
export function keySlot(key) {
  let k = Buffer.from(String(key));
  const open = k.indexOf(0x7b);
  if (open >= 0) {
    const close = k.indexOf(0x7d, open + 1);
    if (close > open + 1) k = k.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of k) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

// The master serving `key`'s slot: {addr, port, id, slot}.
export function redisMasterOf(key) {
  const slot = keySlot(key);
  const m = redisClusterNodes().find((n) => n.role === 'master' && !n.fail && n.slots.some(([a, b]) => slot >= a && slot <= b));
  if (!m) throw new Error(`no live master serves slot ${slot} of ${key}`);
  return { addr: m.addr, port: Number(m.addr.slice(m.addr.lastIndexOf(':') + 1)), id: m.id, slot };
}

export function psql(sql) {
  return execFileSync('psql', ['-h', '127.0.0.1', '-p', process.env.PG_PORT || '25432', '-U', process.env.PG_USER || 'postgres',
    '-d', process.env.PG_DB || 'bazaar', '-tAc', sql], { encoding: 'utf8' }).trim();
}

export async function waitFor(what, fn, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await fn()) return;
    } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

// Asserts the API.md error shape and returns the error object.
export function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text}`);
  assert.equal(res.json?.success, false, res.text);
  assert.equal(res.json.error.code, code, res.text);
  assert.equal(typeof res.json.error.message, 'string');
  assert.ok(Array.isArray(res.json.error.details));
  assert.ok(res.headers.get('x-request-id'), 'X-Request-Id missing');
  return res.json.error;
}

// Helpers of the WebSocket suites: sockets to nginx's /ws or straight to one
// bazaar-ws process, a socket wrapper that records every frame and its close,
// hand-made access tokens, and a small RESP client that emits live events
// through the product's own script (lua/live_event_emit.lua), the same way a
// REST handler or a worker does.
import net from 'node:net';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { PORT, waitFor, CLUSTER, redisMasterOf, psql } from './client.mjs';
import { signJwt } from './auth_helpers.mjs';
import { luaSource } from './lua.mjs';

export const WS_PORT = Number(process.env.WS_PORT || 18090);
export const REDIS_PORT = Number(process.env.REDIS_PORT || 26379);
export const NGINX_WS = `ws://127.0.0.1:${PORT}/ws`;
export const directWs = (i) => `ws://127.0.0.1:${WS_PORT + i}/ws`;

// A token for `userId`, whose row is created first (nginx refuses the /ws
// handshake of a token whose user does not exist: issue 18). The row can
// never sign in: its hash verifies no password.
const madeUsers = new Set();
export function ensureUser(userId, role = 'user') {
  if (madeUsers.has(userId)) return;
  psql(`INSERT INTO users (id, email, username, password_hash, role) VALUES ('${userId}', 'ws-${userId}@example.com', 'ws', '$argon2id$none', '${role}') ON CONFLICT (id) DO NOTHING`);
  madeUsers.add(userId);
}
export function userToken(userId = crypto.randomUUID(), { role = 'user', ttlS = 600, expOffsetS } = {}) {
  ensureUser(userId, role);
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ sub: userId, role, iat: now, exp: now + (expOffsetS ?? ttlS) });
}

const open = new Set();
// Terminates every socket a test left open (a failed assertion skips its
// close()), so a failing suite reports instead of hanging.
export function closeAll() {
  for (const c of open) c.terminate();
  open.clear();
}

// An open socket that records frames; `next(pred)` waits for a matching one.
export class Client {
  constructor(url, { token, cookie, headers = {}, origin } = {}) {
    open.add(this);
    const h = { ...headers };
    if (cookie) h.Cookie = cookie;
    const u = token ? `${url}?token=${encodeURIComponent(token)}` : url;
    this.ws = new WebSocket(u, { headers: h, origin, maxPayload: 0 });
    this.frames = [];
    this.events = [];
    this.closed = null;
    this.waiters = [];
    this.ws.on('message', (data, isBinary) => {
      const text = data.toString();
      let msg;
      try { msg = JSON.parse(text); } catch { msg = { unparsable: text, isBinary }; }
      this.frames.push(msg);
      if (msg.event) this.events.push(msg);
      this.poke();
    });
    this.ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() }; open.delete(this); this.poke(); });
    this.ws.on('error', () => {});
  }
  poke() { for (const w of [...this.waiters]) w(); }
  opened() {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve(this);
      this.ws.once('open', () => resolve(this));
      this.ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      this.ws.once('error', reject);
    });
  }
  // Resolves when `pred()` is true (checked on every frame and close).
  until(what, pred, timeoutMs = 15000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let ok = false;
        try { ok = pred(); } catch (e) { done(); return reject(e); }
        if (ok) { done(); resolve(); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.slice(-5))}, closed: ${JSON.stringify(this.closed)}`)); }, timeoutMs);
      const done = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      check();
    });
  }
  // The first frame (from index `start`, default: the whole history) that
  // matches `pred`, waiting for it if needed.
  async next(pred, what = 'a frame', start = 0) {
    let found;
    await this.until(what, () => (found = this.frames.slice(start).find(pred)) !== undefined);
    return found;
  }
  async reply(msg, pred) {
    const p = this.next(pred, `reply to ${JSON.stringify(msg).slice(0, 80)}`, this.frames.length);
    this.send(msg);
    return p;
  }
  send(msg) { this.ws.send(typeof msg === 'string' || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg)); }
  close() { try { this.ws.close(); } catch { /* already closed */ } }
  terminate() { try { this.ws.terminate(); } catch { /* gone */ } }
}

export async function connect(url, opts) {
  const c = new Client(url, opts);
  await c.opened();
  // A ping round trip proves the socket is registered in its room.
  await c.reply({ type: 'ping' }, (m) => m.type === 'pong');
  return c;
}

// The handshake's HTTP status (101 when it is accepted).
export function handshakeStatus(url, opts = {}) {
  const c = new Client(url, opts);
  return c.opened().then(() => { c.close(); return 101; }, (e) => e.status ?? 0);
}

/* ---- a minimal RESP client ------------------------------------------------ */

function encode(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Parses one reply at `buf[pos]`; returns [value, nextPos] or null if incomplete.
function parse(buf, pos) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  if (type === '+') return [line, eol + 2];
  if (type === '-') return [new Error(line), eol + 2];
  if (type === ':') return [Number(line), eol + 2];
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return [null, eol + 2];
    if (buf.length < eol + 2 + n + 2) return null;
    return [buf.toString('utf8', eol + 2, eol + 2 + n), eol + 2 + n + 2];
  }
  if (type === '*') {
    const n = Number(line);
    const arr = [];
    let p = eol + 2;
    for (let i = 0; i < n; i++) {
      const r = parse(buf, p);
      if (!r) return null;
      arr.push(r[0]);
      p = r[1];
    }
    return [arr, p];
  }
  throw new Error(`bad RESP type ${type}`);
}

// With REDIS_CLUSTER set (the cluster pass) use ClusterResp instead.
export class SingleResp {
  constructor(port = REDIS_PORT) {
    this.sock = net.connect(port, '127.0.0.1');
    this.buf = Buffer.alloc(0);
    this.pending = [];
    this.sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      for (;;) {
        const r = parse(this.buf, 0);
        if (!r) break;
        this.buf = this.buf.subarray(r[1]);
        const w = this.pending.shift();
        if (r[0] instanceof Error) w.reject(r[0]); else w.resolve(r[0]);
      }
    });
    this.sock.on('error', (e) => { for (const w of this.pending.splice(0)) w.reject(e); });
  }
  call(...args) {
    return new Promise((resolve, reject) => { this.pending.push({ resolve, reject }); this.sock.write(encode(args)); });
  }
  close() { this.sock.end(); }
}

// Cluster mode: one connection per master, each call sent to the master of
// its first key (EVAL: KEYS[1]; other commands: args[0]); calls on one key
// keep their order. The slot owner is looked up per key (a test that kills a
// master makes a new Resp).
class ClusterResp {
  constructor() { this.conns = new Map(); this.owner = new Map(); }
  call(...args) {
    const cmd = String(args[0]).toUpperCase();
    const key = String(cmd === 'EVAL' || cmd === 'EVALSHA' ? args[3] : args[1]);
    if (!this.owner.has(key)) this.owner.set(key, redisMasterOf(key).port);
    const port = this.owner.get(key);
    if (!this.conns.has(port)) this.conns.set(port, new SingleResp(port));
    return this.conns.get(port).call(...args);
  }
  close() { for (const c of this.conns.values()) c.close(); }
}

export const Resp = CLUSTER ? ClusterResp : SingleResp;

const EMIT_SCRIPT = luaSource('live_event_emit');

export const userStream = (userId) => `{u:${userId}}:events`;

// Emits `count` events to the room of `stream` (pipelined); returns their
// ids in order.
export async function emitTo(resp, stream, event, dataFn, count = 1) {
  const calls = [];
  for (let i = 0; i < count; i++) calls.push(resp.call('EVAL', EMIT_SCRIPT, 1, stream, event, JSON.stringify(dataFn(i))));
  return Promise.all(calls);
}
export const emit = (resp, userId, ...rest) => emitTo(resp, userStream(userId), ...rest);

export async function metric(name) {
  const res = await fetch(`http://127.0.0.1:${PORT}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').pop());
  return sum;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { waitFor, assert };

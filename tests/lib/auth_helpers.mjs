// Helpers of the auth, catalog and cache suites: demo logins, users made on
// the fly, hand-made JWTs (forged, expired, wrong secret) and requests sent
// from another loopback address (rate limits are per client IP, and the test
// stack exempts 127.0.0.1 only).
import http from 'node:http';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { post, PORT } from './client.mjs';

// The secret the test stack signs with: scripts/stack generates it and exports JWT_SECRET.
export const DEV_JWT_SECRET = process.env.JWT_SECRET;

export async function login(email, password) {
  const res = await post('/api/v1/auth/login', { email, password });
  assert.equal(res.status, 200, res.text);
  return res.json.data;
}

export const loginAdmin = () => login('admin@example.com', process.env.SEED_ADMIN_PASSWORD || 'admin-password-1');
export const loginUser = (n = 1) => login(`user${n}@example.com`, process.env.SEED_USER_PASSWORD || 'user-password-1');

let counter = 0;
export function uniqueEmail(prefix = 'u') {
  return `${prefix}-${Date.now()}-${process.pid}-${++counter}@example.com`;
}

export async function registerUser(prefix = 'u') {
  const email = uniqueEmail(prefix);
  const password = 'secret-password-1';
  const res = await post('/api/v1/auth/register', { email, username: prefix, password });
  assert.equal(res.status, 201, res.text);
  return { ...res.json.data, email, password };
}

const b64url = (obj) => Buffer.from(typeof obj === 'string' ? obj : JSON.stringify(obj)).toString('base64url');

export function signJwt(payload, { secret = DEV_JWT_SECRET, alg = 'HS256' } = {}) {
  const head = b64url({ alg, typ: 'JWT' });
  const body = b64url(payload);
  if (alg === 'none') return `${head}.${body}.`;
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

export function decodeJwt(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

// A request from `localAddress` (e.g. 127.0.0.23) to the test stack's nginx.
export function requestFrom(localAddress, method, path, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    if (payload !== undefined) {
      h['Content-Type'] = 'application/json';
      h['Content-Length'] = Buffer.byteLength(payload);
    }
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path, headers: h, localAddress, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: new Headers(res.headers), text, json });
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

// A different loopback address per call, so suites never share a budget.
let ipCounter = Math.floor(Math.random() * 200);
export function freshLoopback() {
  ipCounter = (ipCounter + 1) % 250;
  return `127.0.${1 + Math.floor(Math.random() * 250)}.${ipCounter + 2}`;
}

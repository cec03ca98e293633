#!/usr/bin/env node
// bench/admin_render.mjs — time to first render of /admin/ (issue 11) in
// headless Chromium (Debian's chromium, playwright-core from tests/), read
// from the page's own Performance API marks:
//   admin:queues  the queue table is on screen
//   admin:failed  the first page of failed jobs is on screen
//   admin:ready   both (the figure reported)
// all in ms since navigation start, the session already in sessionStorage
// (as after a reload), so the figure is the page's and not the login's.
//
// Same run, two cases: the stack as it is (reference), then after adding
// QUEUES fresh queues with FAILED failed jobs in all (default 10 and 1,000),
// made with the real queue scripts (lua/queue_add, _take, _finish) over one
// RESP connection. Also: loading every failure page by page ("Load more").
//
//   HTTP_PORT=.. REDIS_PORT=.. node bench/admin_render.mjs   (RUNS=15)
// Needs a running stack with the demo seed (scripts/stack up).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'tests', 'package.json'));
const { chromium } = require('playwright-core');

const BASE = `http://127.0.0.1:${process.env.HTTP_PORT || 8080}`;
const REDIS_PORT = Number(process.env.REDIS_PORT || 6379);
const RUNS = Number(process.env.RUNS || 15);
const QUEUES = Number(process.env.QUEUES || 10);
const FAILED = Number(process.env.FAILED || 1000);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// ---- a minimal RESP client: one connection, one command at a time ----
function resp() {
  const sock = net.connect(REDIS_PORT, '127.0.0.1');
  let buf = Buffer.alloc(0);
  const waiting = [];
  function parse(b, i) { // -> [value, next index] or null if incomplete
    const nl = b.indexOf('\r\n', i);
    if (nl < 0) return null;
    const line = b.toString('utf8', i + 1, nl);
    const t = String.fromCharCode(b[i]);
    if (t === '+' ) return [line, nl + 2];
    if (t === '-') return [new Error(line), nl + 2];
    if (t === ':') return [Number(line), nl + 2];
    if (t === '$') {
      const n = Number(line);
      if (n < 0) return [null, nl + 2];
      if (b.length < nl + 2 + n + 2) return null;
      return [b.toString('utf8', nl + 2, nl + 2 + n), nl + 2 + n + 2];
    }
    if (t === '*') {
      const n = Number(line);
      const out = [];
      let j = nl + 2;
      for (let k = 0; k < n; k++) {
        const r = parse(b, j);
        if (!r) return null;
        out.push(r[0]);
        j = r[1];
      }
      return [out, j];
    }
    throw new Error(`bad RESP type ${t}`);
  }
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const r = parse(buf, 0);
      if (!r) break;
      buf = buf.subarray(r[1]);
      const w = waiting.shift();
      if (r[0] instanceof Error) w.reject(r[0]); else w.resolve(r[0]);
    }
  });
  return {
    cmd(...args) {
      const parts = args.map(String);
      let s = `*${parts.length}\r\n`;
      for (const p of parts) s += `$${Buffer.byteLength(p)}\r\n${p}\r\n`;
      return new Promise((resolve, reject) => { waiting.push({ resolve, reject }); sock.write(s); });
    },
    close() { sock.end(); },
  };
}

function luaSource(name) {
  return fs.readFileSync(path.join(ROOT, 'lua', `${name}.lua`), 'utf8').split('\n')
    .map((l) => (l.startsWith('--#include ') ? fs.readFileSync(path.join(ROOT, 'lua/lib', `${l.slice(11).trim()}.lua`), 'utf8') : l))
    .join('\n');
}

async function makeFailures(r, prefix) {
  const sha = {};
  for (const s of ['queue_add', 'queue_take', 'queue_finish']) sha[s] = await r.cmd('SCRIPT', 'LOAD', luaSource(s));
  const per = Math.ceil(FAILED / QUEUES);
  let made = 0;
  for (let q = 0; q < QUEUES; q++) {
    const Q = `${prefix}-${q}`;
    const P = `{q:${Q}}:`;
    const K = (k) => P + k;
    await r.cmd('SADD', 'bazaar:queues', Q);
    for (let i = 0; i < per && made < FAILED; i++, made++) {
      await r.cmd('EVALSHA', sha.queue_add, 8, K('seq'), K('wait'), K('delayed'), K('marker'), K('waitdeps'), K('failed'), K('dlq'), K('repeat'),
        P, '', 0, 1, '', `bench-job-${i}`, JSON.stringify({ n: i, isbn: '9780000000000' }), 0, 0, 1, 'fixed', 0, '-1,-1', '-1,-1', 0, '');
      const [[id, token]] = await r.cmd('EVALSHA', sha.queue_take, 6, K('wait'), K('active'), K('delayed'), K('marker'), K('meta'), K('limiter'), P, 1, 30000, 'bench', 0, 0);
      await r.cmd('EVALSHA', sha.queue_finish, 9, K('active'), K('wait'), K('delayed'), K('completed'), K('failed'), K('dlq'), K('marker'), K('waitdeps'), K('rate'),
        P, 1, id, token, 'u', `SMTP error: connection refused (attempt ${i}) — a long enough message to wrap on a phone screen`);
    }
  }
  return made;
}

async function removeQueues(r, prefix) {
  for (let q = 0; q < QUEUES; q++) {
    const Q = `${prefix}-${q}`;
    await r.cmd('SREM', 'bazaar:queues', Q);
    let cursor = '0';
    do {
      const [next, keys] = await r.cmd('SCAN', cursor, 'MATCH', `{q:${Q}}:*`, 'COUNT', 1000);
      if (keys.length) await r.cmd('UNLINK', ...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

async function login() {
  const res = await fetch(`${BASE}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'admin@example.com', password: process.env.SEED_ADMIN_PASSWORD || 'admin-password-1' }),
  });
  if (!res.ok) throw new Error(`login: HTTP ${res.status}`);
  return (await res.json()).data;
}

async function measure(browser, label, loadAll = false) {
  const d = await login(); // one pair per case: the page refreshes nothing
  const stored = JSON.stringify({ accessToken: d.accessToken, refreshToken: d.refreshToken, user: { email: d.user.email } });
  const ready = [];
  const queues = [];
  const failed = [];
  let all = null;
  let rows = 0;
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    await context.addInitScript((s) => sessionStorage.setItem('bazaar.admin.session', s), stored);
    const page = await context.newPage();
    await page.goto(`${BASE}/admin/`);
    await page.waitForFunction(() => document.documentElement.dataset.ready === '1', null, { timeout: 60000 });
    const m = await page.evaluate(() => Object.fromEntries(['admin:queues', 'admin:failed', 'admin:ready']
      .map((n) => [n, performance.getEntriesByName(n)[0]?.startTime])));
    ready.push(m['admin:ready']);
    queues.push(m['admin:queues']);
    failed.push(m['admin:failed']);
    rows = await page.$$eval('#queues tbody tr', (r) => r.length);
    if (loadAll && i === 0) {
      const t0 = await page.evaluate(() => performance.now());
      while (await page.isVisible('#failed-more')) {
        const n = await page.$$eval('#failed-list > li', (l) => l.length);
        await page.click('#failed-more');
        await page.waitForFunction((k) => document.querySelectorAll('#failed-list > li').length > k, n, { timeout: 60000 });
      }
      const t1 = await page.evaluate(() => performance.now());
      all = { ms: t1 - t0, items: await page.$$eval('#failed-list > li', (l) => l.length) };
    }
    await context.close();
  }
  const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
  const f = (v) => v.toFixed(0);
  console.log(`${label.padEnd(34)} queues shown ${String(rows).padStart(3)}  ready p50 ${f(q(ready, 0.5))} ms  p90 ${f(q(ready, 0.9))} ms` +
    `  (queues p50 ${f(q(queues, 0.5))} ms, failed page p50 ${f(q(failed, 0.5))} ms; ${RUNS} loads)`);
  if (all) console.log(`${''.padEnd(34)} all ${all.items} failures of the shown queue, page by page: ${f(all.ms)} ms`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const r = resp();
const prefix = `bench-admin-${process.pid}`;
try {
  await measure(browser, 'reference: the stack as it is');
  const made = await makeFailures(r, prefix);
  await measure(browser, `+${QUEUES} queues, ${made} failed jobs`, true);
} finally {
  await removeQueues(r, prefix);
  r.close();
  await browser.close();
}

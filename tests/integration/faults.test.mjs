// Issue 7 (hardening): what a client sees when a dependency freezes or is
// loading, and what happens when a bazaar process dies.
//
// - Postgres frozen (postmaster and every backend SIGSTOPped): reads, searches,
//   login and the password-reset request answer 503 UNAVAILABLE instead of
//   hanging; each request is sent with a 5 s abort, a hang detector (the
//   bound the server keeps is PG_TIMEOUT_MS, 1.5 s by default).
// - Redis loading its AOF after a restart (answers LOADING): 503, not 500,
//   and the worker lives through it; the restart is the supervisor's, as
//   after a crash (scripts/stack supervises the single Redis, issue 18).
// - kill -9 of an fcgi process, the worker, ws or (single mode) Redis: the
//   supervisor of scripts/stack starts it again and `scripts/stack status`
//   counts it.
// - Every bazaar binary ignores SIGPIPE (a write to a socket Redis closed
//   must not kill it), and a fatal signal leaves a last log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { get, post, waitFor, assertError, redisCli, CLUSTER } from '../lib/client.mjs';

const VAR = process.env.BAZAAR_VAR_DIR;
const ROOT = process.env.BAZAAR_ROOT || process.cwd();
const HANG_MS = 5000;

const pidIn = (file) => Number(readFileSync(file, 'utf8').split('\n')[0]);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const childrenOf = (pid) =>
  spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
    .stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);

function bazaarPidFiles() {
  const run = `${VAR}/run`;
  const names = execFileSync('ls', [run], { encoding: 'utf8' }).split('\n');
  return names.filter((n) => /^(fcgi-\d+|worker-\d+|ws(-\d+)?)\.pid$/.test(n)).map((n) => `${run}/${n}`);
}

function stackStatus() {
  return execFileSync(`${ROOT}/scripts/stack`, ['status'], { encoding: 'utf8', env: process.env });
}

function restartsOf(status, name) {
  const line = status.split('\n').find((l) => l.trim().startsWith(`${name} `));
  assert.ok(line, `no status line for ${name}:\n${status}`);
  const m = line.match(/restarts (\d+)/);
  assert.ok(m, `status line of ${name} shows no restart count: ${line}`);
  return Number(m[1]);
}

async function dropReadCache() {
  // Cached entries would answer without Postgres; these requests must miss.
  redisCli('EVAL', "for _, k in ipairs(redis.call('KEYS', 'c:*')) do redis.call('DEL', k) end return 1", '0');
}

/* ---- processes ---- */

test('every bazaar process ignores SIGPIPE', () => {
  const files = bazaarPidFiles();
  assert.ok(files.length >= 3, `expected fcgi, worker and ws pid files, got ${files}`);
  for (const f of files) {
    const pid = pidIn(f);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const ign = BigInt('0x' + status.match(/^SigIgn:\s*([0-9a-f]+)$/m)[1]);
    assert.equal((ign >> 12n) & 1n, 1n, `${f} (pid ${pid}) does not ignore SIGPIPE`);
  }
});

// (issue 18: Redis too, in single mode: a crashed Redis used to stay down)
for (const name of ['fcgi-0', 'worker-0', 'ws-0', ...(CLUSTER ? [] : ['redis'])]) {
  test(`${name} killed with SIGKILL is started again and counted`, async () => {
    const file = `${VAR}/run/${name}.pid`;
    if (name === 'redis') redisCli('BGREWRITEAOF');  // (the kill loses at most the last second of writes)
    const before = restartsOf(stackStatus(), name);
    const old = pidIn(file);
    process.kill(old, 'SIGKILL');
    await waitFor(`${name} back`, () => existsSync(file) && pidIn(file) !== old && alive(pidIn(file)), 10000);
    assert.equal(restartsOf(stackStatus(), name), before + 1);
    if (name.startsWith('fcgi')) {
      await waitFor('api answers', async () => (await get('/api/v1/ping')).status === 200);
    }
    if (name === 'redis') {
      await waitFor('redis answers', () => { try { return redisCli('PING') === 'PONG'; } catch { return false; } }, 20000);
      await waitFor('login works again', async () =>
        (await post('/api/v1/auth/login', { email: 'user1@example.com', password: 'user-password-1' })).status === 200);
    }
  });
}

test('a fatal signal leaves a last log line, then the process is back', async () => {
  const file = `${VAR}/run/worker-0.pid`;
  const old = pidIn(file);
  process.kill(old, 'SIGSEGV');
  await waitFor('worker back', () => pidIn(file) !== old && alive(pidIn(file)), 10000);
  const lines = readFileSync(`${VAR}/log/worker-0.log`, 'utf8').split('\n').filter(Boolean).map((l) => {
    try { return JSON.parse(l); } catch { return null; }
  });
  const last = lines.find((l) => l && l.pid === old && /fatal signal/.test(l.msg ?? ''));
  assert.ok(last, 'no "fatal signal" line from the dead worker');
  assert.equal(last.level, 'error');
  assert.equal(last.signal, 'SIGSEGV');
});

/* ---- Postgres frozen ---- */

test('Postgres frozen: reads, search and login answer 503 instead of hanging; a reset request still answers 202', async () => {
  await get('/api/v1/books/5');  // a thread with an open connection is the hard case
  await dropReadCache();
  const postmaster = pidIn(`${VAR}/postgres/postmaster.pid`);
  const frozen = [postmaster, ...childrenOf(postmaster)];
  for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  try {
    const q = `nothing-like-${Date.now()}`;
    const [reset, ...results] = await Promise.all([
      post('/api/v1/auth/password-reset/request', { email: 'user2@example.com' }, { timeoutMs: HANG_MS }),
      get('/api/v1/books/5?fields=title,author', { timeoutMs: HANG_MS }),
      get(`/api/v1/books?q=${q}`, { timeoutMs: HANG_MS }),
      post('/api/v1/auth/login', { email: 'user1@example.com', password: 'user-password-1' }, { timeoutMs: HANG_MS }),
    ]);
    for (const res of results) assertError(res, 503, 'UNAVAILABLE');
    // The reset request only enqueues its email job (Redis): the job looks
    // the user up later, so the answer is the same 202 for any address.
    assert.equal(reset.status, 202, reset.text);
    // A second round finds the connections dropped; it must not hang either.
    assertError(await get(`/api/v1/books?q=${q}-2`, { timeoutMs: HANG_MS }), 503, 'UNAVAILABLE');
  } finally {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
  }
  await waitFor('reads work again', async () => (await get('/api/v1/books/5?fields=title,author')).status === 200);
  await waitFor('login works again', async () =>
    (await post('/api/v1/auth/login', { email: 'user1@example.com', password: 'user-password-1' })).status === 200);
});

/* ---- Redis loading ---- */

// Restarts the test stack's Redis so that it spends seconds loading its AOF:
// enough keys, and a per-key load delay (a Redis debugging setting) in the
// local.conf that scripts/stack includes at every start of the supervised
// Redis. The SHUTDOWN ends the process (AOF flushed); its supervisor starts
// it again, which replays the AOF slowly: LOADING after a restart, as after
// a crash.
const LOCAL_CONF = `${VAR}/redis/local.conf`;
function restartRedisSlowLoading() {
  redisCli('EVAL', "for i=1,20000 do redis.call('SET','faults:filler:'..i,'x') end return 1", '0');
  redisCli('BGREWRITEAOF');
  const deadline = Date.now() + 20000;
  while (!/aof_rewrite_in_progress:0/.test(redisCli('INFO', 'persistence')) || /aof_rewrite_scheduled:1/.test(redisCli('INFO', 'persistence'))) {
    if (Date.now() > deadline) assert.fail('AOF rewrite did not finish');
    execFileSync('sleep', ['0.1']);
  }
  writeFileSync(LOCAL_CONF, 'key-load-delay 400\nloading-process-events-interval-bytes 1024\n');
  try {
    redisCli('SHUTDOWN');
  } catch {
    // redis-cli reports the connection the shutdown closed
  }
}

test('Redis loading its AOF: login answers 503, and the worker lives through it', async () => {
  const workerPid = pidIn(`${VAR}/run/worker-0.pid`);
  restartRedisSlowLoading();
  try {
    await waitFor('redis loading', () => /LOADING/.test(redisCli('PING')), 10000);
    const res = await post('/api/v1/auth/login', { email: 'user1@example.com', password: 'user-password-1' },
      { timeoutMs: HANG_MS });
    assertError(res, 503, 'UNAVAILABLE');
    const reset = await post('/api/v1/auth/password-reset/request', { email: 'user1@example.com' }, { timeoutMs: HANG_MS });
    assertError(reset, 503, 'UNAVAILABLE');
    assert.match(redisCli('PING'), /LOADING/, 'Redis finished loading before the requests: the test proved nothing');
  } finally {
    writeFileSync(LOCAL_CONF, '');  // later starts load at full speed
    await waitFor('redis loaded', () => { try { return redisCli('PING') === 'PONG'; } catch { return false; } }, 60000);
    redisCli('EVAL', "for _, k in ipairs(redis.call('KEYS', 'faults:filler:*')) do redis.call('DEL', k) end return 1", '0');
  }
  await waitFor('login works again', async () =>
    (await post('/api/v1/auth/login', { email: 'user1@example.com', password: 'user-password-1' })).status === 200);
  assert.equal(pidIn(`${VAR}/run/worker-0.pid`), workerPid, 'the worker died while Redis was loading');
  assert.ok(alive(workerPid));
});

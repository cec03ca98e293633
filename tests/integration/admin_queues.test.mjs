// Issue 3: the admin routes of the job queue (API.md §7), /metrics and
// `bazaar queue`. Each test builds its own fresh queue straight in Redis with
// the real scripts (redis-cli --eval lua/queue_*.lua), so no worker is
// involved and no test depends on another having run first (issue 7).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request, get, post, redisCli, assertError } from '../lib/client.mjs';
import { loginAdmin, loginUser } from '../lib/auth_helpers.mjs';
import { runLua } from '../lib/lua.mjs';

const CLI = `${process.env.BUILD_DIR}/cli/bazaar`;
let admin;
let user;
let serial = 0;

// A queue of its own with one completed, one failed and one waiting job.
function freshQueue() {
  const Q = `it-admin-${process.pid}-${++serial}`;
  const P = `{q:${Q}}:`;
  const K = (k) => P + k;
  const addJob = (name, attempts = 1) => runLua('queue_add',
    [K('seq'), K('wait'), K('delayed'), K('marker'), K('waitdeps'), K('failed'), K('dlq'), K('repeat')],
    [P, '', 0, 1, '', name, '{"n":1}', 0, 0, attempts, 'fixed', 0, '-1,-1', '-1,-1', 0, ''])[0];
  const takeAndFinish = (outcome, payload) => {
    const [id, token] = runLua('queue_take', [K('wait'), K('active'), K('delayed'), K('marker'), K('meta'), K('limiter')],
      [P, 1, 30000, 'it', 0, 0]);
    runLua('queue_finish', [K('active'), K('wait'), K('delayed'), K('completed'), K('failed'), K('dlq'), K('marker'), K('waitdeps'), K('rate')],
      [P, 1, id, token, outcome, payload]);
    return id;
  };
  redisCli('SADD', 'bazaar:queues', Q);
  addJob('will-complete');
  addJob('will-fail');
  const ids = {};
  ids.completed = takeAndFinish('c', '{"ok":1}');
  ids.failed = takeAndFinish('u', 'broken on purpose');
  ids.waiting = addJob('stays-waiting');
  return { Q, K, ids };
}

const bazaar = (...args) => {
  const r = spawnSync(CLI, args, { env: process.env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

before(async () => {
  admin = (await loginAdmin()).accessToken;
  user = (await loginUser()).accessToken;
});

test('GET /admin/queues lists the queue with its counts', async () => {
  const { Q, K, ids } = freshQueue();
  const res = await get('/api/v1/admin/queues', { token: admin });
  assert.equal(res.status, 200, res.text);
  const q = res.json.data.find((x) => x.name === Q);
  assert.ok(q, res.text);
  assert.deepEqual(
    { waiting: q.waiting, active: q.active, delayed: q.delayed, completed: q.completed, failed: q.failed, paused: q.paused, total: q.total },
    { waiting: 1, active: 0, delayed: 0, completed: 1, failed: 1, paused: false, total: 3 });
  assert.equal(q.processedLastMinute, 1);
  assert.equal(q.failedLastMinute, 1);
});

test('admin routes need an admin token', async () => {
  const { Q, K, ids } = freshQueue();
  assertError(await get('/api/v1/admin/queues'), 401, 'UNAUTHENTICATED');
  assertError(await get('/api/v1/admin/queues', { token: user }), 403, 'FORBIDDEN');
  assertError(await post(`/api/v1/admin/queues/${Q}/pause`, undefined, { token: user }), 403, 'FORBIDDEN');
  assertError(await get('/api/v1/admin/events', { token: user }), 403, 'FORBIDDEN');
});

test('jobs by state, and one job with attempts, last error and timestamps', async () => {
  const { Q, K, ids } = freshQueue();
  const res = await get(`/api/v1/admin/queues/${Q}/jobs?state=failed`, { token: admin });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.length, 1);
  assert.equal(res.json.meta.nextCursor, null);
  const job = res.json.data[0];
  assert.equal(job.id, ids.failed);
  assert.equal(job.state, 'failed');
  assert.equal(job.lastError, 'broken on purpose');
  assert.equal(job.attemptsMade, 1);

  const one = await get(`/api/v1/admin/queues/${Q}/jobs/${ids.completed}`, { token: admin });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.data.state, 'completed');
  assert.deepEqual(one.json.data.returnValue, { ok: 1 });
  assert.match(one.json.data.finishedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('bad input: unknown queue 404, unknown job 404, bad state/limit/cursor 400', async () => {
  const { Q, K, ids } = freshQueue();
  assertError(await get('/api/v1/admin/queues/no-such-queue/jobs?state=failed', { token: admin }), 404, 'NOT_FOUND');
  assertError(await post('/api/v1/admin/queues/no-such-queue/pause', undefined, { token: admin }), 404, 'NOT_FOUND');
  assertError(await get(`/api/v1/admin/queues/${Q}/jobs/nope`, { token: admin }), 404, 'NOT_FOUND');
  assertError(await get(`/api/v1/admin/queues/${Q}/jobs?state=sleeping`, { token: admin }), 400, 'VALIDATION_FAILED');
  assertError(await get(`/api/v1/admin/queues/${Q}/jobs?state=failed&limit=0`, { token: admin }), 400, 'VALIDATION_FAILED');
  assertError(await get(`/api/v1/admin/queues/${Q}/jobs?state=failed&cursor=forged`, { token: admin }), 400, 'VALIDATION_FAILED');
  assertError(await request('DELETE', `/api/v1/admin/queues/${Q}/jobs?state=active`, { token: admin }), 400, 'VALIDATION_FAILED');
  assertError(await request('DELETE', `/api/v1/admin/queues/${Q}/jobs`, { token: admin }), 400, 'VALIDATION_FAILED');
  assertError(await get('/api/v1/admin/events?limit=abc', { token: admin }), 400, 'VALIDATION_FAILED');
});

test('retry a failed job; retrying it again is an invalid transition', async () => {
  const { Q, K, ids } = freshQueue();
  const res = await post(`/api/v1/admin/queues/${Q}/jobs/${ids.failed}/retry`, undefined, { token: admin });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.state, 'waiting');
  assert.equal(res.json.data.attemptsMade, 0);
  assertError(await post(`/api/v1/admin/queues/${Q}/jobs/${ids.failed}/retry`, undefined, { token: admin }), 409, 'INVALID_TRANSITION');
  const all = await post(`/api/v1/admin/queues/${Q}/retry-failed`, undefined, { token: admin });
  assert.equal(all.status, 200, all.text);
  assert.equal(all.json.data.retried, 0);
});

test('pause and resume', async () => {
  const { Q, K, ids } = freshQueue();
  const p = await post(`/api/v1/admin/queues/${Q}/pause`, undefined, { token: admin });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.data.paused, true);
  assert.equal(redisCli('HGET', K('meta'), 'paused'), '1');
  const r = await post(`/api/v1/admin/queues/${Q}/resume`, undefined, { token: admin });
  assert.equal(r.json.data.paused, false);
});

test('DELETE jobs by state and age, then the events show it', async () => {
  const { Q, K, ids } = freshQueue();
  // Changes made through the API append events: a pause and a retry.
  assert.equal((await post(`/api/v1/admin/queues/${Q}/pause`, undefined, { token: admin })).status, 200);
  assert.equal((await post(`/api/v1/admin/queues/${Q}/jobs/${ids.failed}/retry`, undefined, { token: admin })).status, 200);
  const kept = await request('DELETE', `/api/v1/admin/queues/${Q}/jobs?state=completed&olderThanS=3600`, { token: admin });
  assert.equal(kept.status, 200, kept.text);
  assert.equal(kept.json.data.removed, 0);
  const res = await request('DELETE', `/api/v1/admin/queues/${Q}/jobs?state=completed&olderThanS=0`, { token: admin });
  assert.equal(res.json.data.removed, 1);
  assertError(await get(`/api/v1/admin/queues/${Q}/jobs/${ids.completed}`, { token: admin }), 404, 'NOT_FOUND');

  const ev = await get('/api/v1/admin/events?limit=20', { token: admin });
  assert.equal(ev.status, 200, ev.text);
  assert.ok(ev.json.data.length <= 20);
  const mine = ev.json.data.filter((e) => e.queue === Q);
  assert.ok(mine.some((e) => e.state === 'removed' && e.jobId === ids.completed), JSON.stringify(mine));
  assert.ok(mine.some((e) => e.state === 'paused'), JSON.stringify(mine));
  assert.ok(mine.some((e) => e.state === 'waiting' && e.jobId === ids.failed), JSON.stringify(mine));
});

test('/metrics reports queue depths and totals', async () => {
  const { Q, K, ids } = freshQueue();
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.text, new RegExp(`bazaar_queue_jobs\\{queue="${Q}",state="waiting"\\} 1`));
  assert.match(res.text, new RegExp(`bazaar_queue_jobs\\{queue="${Q}",state="failed"\\} 1`));
  assert.match(res.text, new RegExp(`bazaar_queue_jobs_completed_total\\{queue="${Q}"\\} 1`));
  assert.match(res.text, /bazaar_outbox_job_lag_seconds \d/);
});

test('bazaar queue stats | retry | drain', () => {
  const { Q, K, ids } = freshQueue();
  const st = bazaar('queue', 'stats', Q);
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, new RegExp(`${Q}\\s+1\\s+0\\s+0`));
  const missing = bazaar('queue', 'stats', 'no-such-queue');
  assert.notEqual(missing.code, 0);
  assert.match(missing.err, /^bazaar: .*not found/m);
  const retry = bazaar('queue', 'retry', Q);
  assert.equal(retry.code, 0, retry.err);
  const drain = bazaar('queue', 'drain', Q);
  assert.equal(drain.code, 0, drain.err);
  assert.match(drain.out, /removed 2 /);
  assert.equal(redisCli('ZCARD', K('wait')), '0');
  assert.notEqual(bazaar('queue', 'frobnicate').code, 0);
});

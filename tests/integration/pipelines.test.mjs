// Issue 11, pipelines: the admin API of API.md §7 (GET /admin/pipelines,
// branch and job runs, the enabled switch), run semantics through the real
// queue and worker (dependencies, priorities, a failing dependency stopping
// its dependents), the cleanup branch's jobs removing exactly what they
// should, and `bazaar pipeline run`. The `test` and `testfail` branches exist
// only on the test stack (APP_ENV=test): shared/src/pipelines/registry.cpp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { get, post, request, psql, redisCli, waitFor, assertError } from '../lib/client.mjs';
import { loginAdmin, loginUser, registerUser } from '../lib/auth_helpers.mjs';

const CLI = `${process.env.BUILD_DIR}/cli/bazaar`;
const P = '/api/v1/admin/pipelines';
const BRANCHES = ['data', 'cache', 'image', 'ai', 'cleanup'];
const JOB_KEYS = ['branch', 'cron', 'dependsOn', 'enabled', 'id', 'lastRun', 'name', 'nextRunAt', 'priority', 'timezone'];
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let adminToken;
async function admin() {
  adminToken ??= (await loginAdmin()).accessToken;
  return adminToken;
}

async function runStatus(runId) {
  const r = await get(`${P}/runs/${runId}`, { token: await admin() });
  assert.equal(r.status, 200, r.text);
  return r.json.data;
}

async function finished(runId, timeoutMs = 30000) {
  let s;
  await waitFor(`run ${runId} to finish`, async () => {
    s = await runStatus(runId);
    return s.status !== 'running';
  }, timeoutMs);
  return s;
}

const byId = (run) => Object.fromEntries(run.jobs.map((j) => [j.id, j]));

async function runJob(id) {
  const r = await post(`${P}/jobs/${id}/run`, undefined, { token: await admin() });
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json.data.jobs, [id]);
  const s = await finished(r.json.data.runId);
  assert.equal(s.status, 'completed', JSON.stringify(s));
  return s.jobs[0].result;
}

test('admin only: 401 without a token, 403 for a customer, on every pipelines route', async () => {
  const user = (await loginUser(1)).accessToken;
  const routes = [['GET', P], ['POST', `${P}/cleanup/run`], ['POST', `${P}/jobs/cleanup.carts/run`],
    ['PATCH', `${P}/jobs/cleanup.carts`, { enabled: false }], ['GET', `${P}/runs/0123456789abcdef`]];
  for (const [method, path, body] of routes) {
    assertError(await request(method, path, { body }), 401, 'UNAUTHENTICATED');
    assertError(await request(method, path, { body, token: user }), 403, 'FORBIDDEN');
  }
  assert.equal(psql("SELECT count(*) FROM pipeline_job_settings WHERE job_id = 'cleanup.carts'"), '0');
});

test('GET /admin/pipelines: the five branches of API.md with their jobs, exactly that shape', async () => {
  const r = await get(P, { token: await admin() });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.success, true);
  assert.deepEqual(r.json.data.map((b) => b.branch), BRANCHES);
  const ids = [];
  for (const b of r.json.data) {
    assert.deepEqual(Object.keys(b).sort(), ['branch', 'jobs']);
    assert.ok(b.jobs.length > 0, b.branch);
    for (const j of b.jobs) {
      ids.push(j.id);
      assert.deepEqual(Object.keys(j).sort(), JOB_KEYS);
      assert.equal(j.branch, b.branch);
      assert.ok(j.id.startsWith(`${b.branch}.`), j.id);
      assert.equal(typeof j.name, 'string');
      assert.equal(typeof j.cron, 'string');
      assert.equal(typeof j.timezone, 'string');
      assert.equal(typeof j.enabled, 'boolean');
      assert.ok(Number.isInteger(j.priority) && j.priority >= 0 && j.priority <= 100);
      assert.ok(Array.isArray(j.dependsOn));
      if (j.enabled) {
        assert.match(j.nextRunAt, RFC3339);
        assert.ok(Date.parse(j.nextRunAt) > Date.now() - 1000, j.nextRunAt);
      }
      if (j.lastRun !== null) {
        assert.ok(['running', 'completed', 'failed'].includes(j.lastRun.status));
        assert.match(j.lastRun.startedAt, RFC3339);
      }
    }
  }
  for (const id of ['cleanup.reservations', 'cleanup.idempotency_keys', 'cleanup.job_events', 'cleanup.carts',
    'data.import', 'data.sales_summary', 'cache.warm', 'cache.invalidate', 'image.orphans', 'ai.recommendations'])
    assert.ok(ids.includes(id), id);
  assert.ok(!ids.some((id) => id.startsWith('test')), 'test jobs are never listed');
  const data = r.json.data.find((b) => b.branch === 'data').jobs;
  assert.deepEqual(data.find((j) => j.id === 'data.sales_summary').dependsOn, ['data.import']);
  const carts = r.json.data.find((b) => b.branch === 'cleanup').jobs.find((j) => j.id === 'cleanup.carts');
  assert.equal(carts.timezone, 'Europe/Berlin');
});

test('unknown branch, job or run: 404 JSON error; bad bodies: 400 and nothing changes', async () => {
  const token = await admin();
  assertError(await post(`${P}/nope/run`, undefined, { token }), 404, 'NOT_FOUND');
  assertError(await post(`${P}/jobs/nope.job/run`, undefined, { token }), 404, 'NOT_FOUND');
  assertError(await request('PATCH', `${P}/jobs/nope.job`, { token, body: { enabled: false } }), 404, 'NOT_FOUND');
  assertError(await get(`${P}/runs/0123456789abcdef`, { token }), 404, 'NOT_FOUND');
  assertError(await get(`${P}/runs/0123456789ABCDEF`, { token }), 404, 'NOT_FOUND');
  assertError(await get(`${P}/runs/${'a'.repeat(300)}`, { token }), 404, 'NOT_FOUND');
  assertError(await post(`${P}/%00/run`, undefined, { token }), 400, 'BAD_REQUEST');  // the server refuses a NUL in any path
  assertError(await post(`${P}/caf%C3%A9/run`, undefined, { token }), 404, 'NOT_FOUND');
  for (const body of [{}, { enabled: 'false' }, { enabled: 0 }, { enabled: null }, { enabled: true, extra: 1 }, { enabled: true, Enabled: false }, { 'enabled\u0000': true }]) {
    const e = assertError(await request('PATCH', `${P}/jobs/cleanup.carts`, { token, body }), 400, 'VALIDATION_FAILED');
    assert.ok(e.details.length > 0, JSON.stringify(body));
  }
  assertError(await request('PATCH', `${P}/jobs/cleanup.carts`, { token, raw: '{"enabled":', headers: { 'Content-Type': 'application/json' } }),
    400, 'MALFORMED_JSON');
  assertError(await request('PATCH', `${P}/jobs/cleanup.carts`, { token, body: [true] }), 400, 'MALFORMED_JSON');  // not an object
  assertError(await post(`${P}/cleanup/run`, { extra: true }, { token }), 400, 'VALIDATION_FAILED');
  assert.equal(psql("SELECT count(*) FROM pipeline_job_settings WHERE job_id = 'cleanup.carts'"), '0');
});

test('PATCH enabled persists in Postgres; a disabled job has no next run', async () => {
  const token = await admin();
  const off = await request('PATCH', `${P}/jobs/cleanup.job_events`, { token, body: { enabled: false } });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.data.enabled, false);
  assert.equal(off.json.data.nextRunAt, null);
  assert.equal(psql("SELECT enabled FROM pipeline_job_settings WHERE job_id = 'cleanup.job_events'"), 'f');
  const listed = (await get(P, { token })).json.data.find((b) => b.branch === 'cleanup').jobs
    .find((j) => j.id === 'cleanup.job_events');
  assert.equal(listed.enabled, false);
  assert.equal(listed.nextRunAt, null);

  // That its cron ticks are skipped is tested in tests/backend/pipelines_test.cpp.
  const on = await request('PATCH', `${P}/jobs/cleanup.job_events`, { token, body: { enabled: true } });
  assert.equal(on.json.data.enabled, true);
  assert.match(on.json.data.nextRunAt, RFC3339);
});

test('branch run: dependencies a → b → c in order, higher priority first', async () => {
  const token = await admin();
  // A run registers the queue (a suite before may have flushed Redis, and
  // with it the worker's registration), so that it can be paused.
  await runJob('test.a');
  // Paused, the queue shows the order it will run the ready jobs in.
  assert.equal((await post('/api/v1/admin/queues/pipelines/pause', undefined, { token })).status, 200);
  let runId;
  try {
    const r = await post(`${P}/test/run`, undefined, { token });
    assert.equal(r.status, 202, r.text);
    runId = r.json.data.runId;
    assert.match(runId, /^[0-9a-f]{16}$/);
    assert.deepEqual(r.json.data.jobs, ['test.a', 'test.b', 'test.c', 'test.low', 'test.high']);
    const waiting = (await get('/api/v1/admin/queues/pipelines/jobs?state=waiting&limit=100', { token })).json.data
      .map((j) => j.id).filter((id) => id.startsWith(`run:${runId}:`));
    assert.deepEqual(waiting, ['test.high', 'test.a', 'test.low'].map((j) => `run:${runId}:${j}`));
    const s = byId(await runStatus(runId));
    assert.equal(s['test.b'].status, 'waiting-children');
    assert.equal(s['test.c'].status, 'waiting-children');
  } finally {
    assert.equal((await post('/api/v1/admin/queues/pipelines/resume', undefined, { token })).status, 200);
  }
  const done = await finished(runId);
  assert.equal(done.status, 'completed', JSON.stringify(done));
  const j = byId(done);
  for (const id of ['test.a', 'test.b', 'test.c', 'test.low', 'test.high']) {
    assert.equal(j[id].status, 'completed');
    assert.deepEqual(j[id].result, { ran: id });
  }
  assert.ok(j['test.b'].startedAt >= j['test.a'].finishedAt, JSON.stringify(j));
  assert.ok(j['test.c'].startedAt >= j['test.b'].finishedAt, JSON.stringify(j));
  assert.equal(psql("SELECT status FROM pipeline_job_runs WHERE job_id = 'test.c'"), 'completed');
});

test('a failing dependency stops its dependents, which say which dependency failed and why', async () => {
  const token = await admin();
  const r = await post(`${P}/testfail/run`, undefined, { token });
  assert.equal(r.status, 202, r.text);
  const s = await finished(r.json.data.runId);
  assert.equal(s.status, 'failed');
  const j = byId(s);
  assert.equal(j['testfail.fail'].status, 'failed');
  assert.equal(j['testfail.fail'].reason, 'injected failure');
  assert.equal(j['testfail.after'].status, 'skipped');
  assert.match(j['testfail.after'].reason, /dependency run:[0-9a-f]{16}:testfail\.fail failed: injected failure/);
  assert.equal(j['testfail.after'].startedAt, null);  // never ran
  assert.equal(j['testfail.last'].status, 'skipped');
  assert.match(j['testfail.last'].reason, /dependency run:[0-9a-f]{16}:testfail\.after failed/);
  assert.equal(j['testfail.independent'].status, 'completed');
  assert.equal(psql("SELECT status || ' ' || error FROM pipeline_job_runs WHERE job_id = 'testfail.fail'"), 'failed injected failure');
  assert.equal(psql("SELECT count(*) FROM pipeline_job_runs WHERE job_id IN ('testfail.after', 'testfail.last')"), '0');
});

test('a single job run runs that job only, and its last run shows in the listing', async () => {
  const token = await admin();
  const r = await post(`${P}/jobs/test.c/run`, undefined, { token });
  assert.equal(r.status, 202, r.text);
  const s = await finished(r.json.data.runId);
  assert.equal(s.status, 'completed');
  assert.equal(s.branch, null);
  assert.deepEqual(s.jobs.map((x) => x.id), ['test.c']);  // no dependency enqueued

  await runJob('cleanup.job_events');
  const job = (await get(P, { token })).json.data.find((b) => b.branch === 'cleanup').jobs
    .find((x) => x.id === 'cleanup.job_events');
  assert.equal(job.lastRun.status, 'completed');
  assert.match(job.lastRun.startedAt, RFC3339);
  assert.ok(Number.isInteger(job.lastRun.durationMs) && job.lastRun.durationMs >= 0);
});

test('cleanup.idempotency_keys removes keys past 24 h and nothing else', async () => {
  const u = await registerUser('pipe-idem');
  const id = u.user.id;
  psql(`INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES
    ('${id}', 'old-1', 'h', now() - interval '25 hours'), ('${id}', 'old-2', 'h', now() - interval '48 hours'),
    ('${id}', 'fresh', 'h', now() - interval '23 hours')`);
  const others = psql(`SELECT count(*) FROM idempotency_keys WHERE user_id <> '${id}' AND created_at >= now() - interval '24 hours'`);
  const result = await runJob('cleanup.idempotency_keys');
  // bazaar-worker's order sweeper purges with the same function every 500 ms
  // on the test stack, so this job may find them already gone: the rows left
  // are what counts.
  assert.ok(Number.isInteger(result.removed) && result.removed >= 0 && result.removed <= 2, JSON.stringify(result));
  assert.equal(psql(`SELECT string_agg(key, ',' ORDER BY key) FROM idempotency_keys WHERE user_id = '${id}'`), 'fresh');
  assert.ok(Number(psql(`SELECT count(*) FROM idempotency_keys WHERE user_id <> '${id}'`)) >= Number(others));
});

test('cleanup.carts removes durable carts idle 30 days whose live cart is gone, and nothing else', async () => {
  const [idle, recent, live] = await Promise.all(['pipe-idle', 'pipe-recent', 'pipe-live'].map((p) => registerUser(p)));
  const book = psql('SELECT min(id) FROM books WHERE deleted_at IS NULL');
  for (const [u, age] of [[idle, '31 days'], [recent, '29 days'], [live, '31 days']]) {
    psql(`INSERT INTO carts (user_id, version, updated_at) VALUES ('${u.user.id}', 1, now() - interval '${age}')`);
    psql(`INSERT INTO cart_items (user_id, book_id, quantity) VALUES ('${u.user.id}', ${book}, 1)`);
  }
  // The live cart of `live` is still in Redis (its own 30-day TTL runs from its last change).
  redisCli('HSET', `{u:${live.user.id}}:cart`, 'version', '1');
  // Earlier suites on this stack may have left idle carts of their own:
  // those (and only those) are removed too.
  const ours = [idle, recent, live].map((u) => `'${u.user.id}'`).join(',');
  const others = psql(`SELECT user_id FROM carts WHERE updated_at < now() - interval '30 days' AND user_id NOT IN (${ours})`)
    .split('\n').filter(Boolean);
  const othersLive = others.filter((id) => redisCli('EXISTS', `{u:${id}}:cart`) === '1').length;
  const result = await runJob('cleanup.carts');
  assert.equal(result.removed, 1 + others.length - othersLive);
  assert.equal(result.liveInRedis, 1 + othersLive);
  const left = (u) => psql(`SELECT count(*) FROM carts WHERE user_id = '${u.user.id}'`) +
    psql(`SELECT count(*) FROM cart_items WHERE user_id = '${u.user.id}'`);
  assert.equal(left(idle), '00');
  assert.equal(left(recent), '11');
  assert.equal(left(live), '11');
  redisCli('DEL', `{u:${live.user.id}}:cart`);
});

test('cleanup.job_events keeps every entry younger than 7 days', async () => {
  const before = Number(redisCli('XLEN', 'job:events'));
  const result = await runJob('cleanup.job_events');
  assert.equal(result.removed, 0);  // the test stack is younger than 7 days
  assert.ok(Number(redisCli('XLEN', 'job:events')) >= before);
});

test('cleanup.reservations expires an overdue unpaid order through the order rules, and leaves a live one', async () => {
  const u = await registerUser('pipe-res');
  const book = psql('SELECT min(id) FROM books WHERE deleted_at IS NULL AND stock > 10');
  const order = async () => {
    const put = await post('/api/v1/cart/items', { bookId: String(book), quantity: 1 }, { token: u.accessToken });
    assert.equal(put.status, 200, put.text);
    const o = await request('POST', '/api/v1/orders', { token: u.accessToken, headers: { 'Idempotency-Key': `pipe-${Date.now()}-${Math.random()}` }, timeoutMs: 60000 });
    assert.equal(o.status, 201, o.text);
    return o.json.data.id;
  };
  const overdue = await order();
  const live = await order();
  psql(`UPDATE orders SET expires_at = now() - interval '1 minute' WHERE id = '${overdue}'`);
  const result = await runJob('cleanup.reservations');
  assert.ok(Number.isInteger(result.removed) && Number.isInteger(result.expiredOrders), JSON.stringify(result));
  // Whoever got there first (this job or the sweeper it backs up), the order
  // is expired once, with its stock given back by the order rules.
  assert.equal(psql(`SELECT status || ' ' || stock_released FROM orders WHERE id = '${overdue}'`), 'EXPIRED true');
  assert.equal(psql(`SELECT status || ' ' || stock_released FROM orders WHERE id = '${live}'`), 'PAYMENT_PENDING false');
});

test('bazaar pipeline run: 0 for a branch (with --wait, once it completed), non-zero for an unknown one', () => {
  const ok = spawnSync(CLI, ['pipeline', 'run', 'cleanup', '--wait'], { env: process.env, encoding: 'utf8', timeout: 120000 });
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /^run [0-9a-f]{16} started: cleanup\.reservations /m);
  assert.match(ok.stdout, /run [0-9a-f]{16} completed/);
  const quick = spawnSync(CLI, ['pipeline', 'run', 'cleanup'], { env: process.env, encoding: 'utf8' });
  assert.equal(quick.status, 0, quick.stderr);
  const bad = spawnSync(CLI, ['pipeline', 'run', 'nope'], { env: process.env, encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /not found/i);
  const failing = spawnSync(CLI, ['pipeline', 'run', 'testfail', '--wait'], { env: process.env, encoding: 'utf8', timeout: 120000 });
  assert.equal(failing.status, 1, failing.stdout);
  assert.match(failing.stdout, /testfail\.after\s+skipped\s+dependency/);
});

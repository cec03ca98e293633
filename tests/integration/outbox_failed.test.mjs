// Issue 7, queue edge cases through the stack: an outbox row the relay can
// never publish is set aside (not retried for ever) and shown to operators in
// /metrics and GET /api/v1/admin/outbox/failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, post, psql, waitFor, assertError, redisCli, CLUSTER } from '../lib/client.mjs';
import { loginAdmin, loginUser } from '../lib/auth_helpers.mjs';

const gauge = (text) => Number(text.match(/^bazaar_outbox_failed_rows (\d+)$/m)?.[1]);

test('an outbox row that is not a job is set aside and listed for admins', async () => {
  const before = gauge((await get('/metrics')).text);
  assert.ok(Number.isInteger(before), 'bazaar_outbox_failed_rows missing from /metrics');
  const queue = `t-outbox-${Date.now()}`;
  const id = psql(`INSERT INTO outbox (topic, payload) VALUES ('job:${queue}', '{"name": 42}') RETURNING id`)
    .split('\n')[0];
  await waitFor('row set aside', () => psql(`SELECT failed_at IS NOT NULL FROM outbox WHERE id = ${id}`) === 't');
  assert.equal(psql(`SELECT published_at IS NULL FROM outbox WHERE id = ${id}`), 't');
  assert.equal(gauge((await get('/metrics')).text), before + 1);

  const { accessToken } = await loginAdmin();
  const res = await get('/api/v1/admin/outbox/failed?limit=100', { token: accessToken });
  assert.equal(res.status, 200, res.text);
  const row = res.json.data.rows.find((r) => r.id === id);
  assert.ok(row, `row ${id} not listed: ${res.text}`);
  assert.equal(row.queue, queue);
  assert.ok(row.attempts >= 1);
  assert.ok(row.error.length > 0);
  assert.match(row.failedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(row.job, { name: 42 });
  assert.ok(res.json.data.total >= 1);

  const user = await loginUser(2);
  assertError(await get('/api/v1/admin/outbox/failed', { token: user.accessToken }), 403, 'FORBIDDEN');
  assertError(await get('/api/v1/admin/outbox/failed?limit=0', { token: accessToken }), 400, 'VALIDATION_FAILED');
});

// Issue 18: operators re-drive rows set aside once the cause is fixed (POST
// /api/v1/admin/outbox/:id/redrive, /api/v1/admin/outbox/redrive): attempts
// and failed_at are cleared and the relay publishes the row.
const setAsideRow = (queue, jobId) =>
  psql(`INSERT INTO outbox (topic, payload, attempts, last_error, failed_at)
        VALUES ('job:${queue}', '{"name": "noop", "data": {}, "options": {"jobId": "${jobId}"}}', 5, 'refused', now())
        RETURNING id`).split('\n')[0];
const rowState = (id) => psql(`SELECT attempts, failed_at IS NOT NULL, published_at IS NOT NULL FROM outbox WHERE id = ${id}`);

test('an admin re-drives one row set aside, then all of them; the relay publishes them', async () => {
  const { accessToken } = await loginAdmin();
  const queue = `t-redrive-${Date.now()}`;
  const one = setAsideRow(queue, `redrive-one-${Date.now()}`);
  const two = setAsideRow(queue, `redrive-two-${Date.now()}`);
  await new Promise((r) => setTimeout(r, 1200)); // the relay's wake-up bound: it must not take them by itself
  assert.equal(rowState(one), '5|t|f', 'a row set aside stays aside until re-driven');

  const res = await post(`/api/v1/admin/outbox/${one}/redrive`, undefined, { token: accessToken });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.data, { redriven: 1, ids: [one] });
  await waitFor('row published', () => rowState(one) === '0|f|t');
  assert.equal(rowState(two), '5|t|f', 'only the named row moves');
  assertError(await post(`/api/v1/admin/outbox/${one}/redrive`, undefined, { token: accessToken }), 409, 'INVALID_TRANSITION');

  // (all of this test's queue: other suites' rows stay where they are)
  const all = await post(`/api/v1/admin/outbox/redrive?queue=${queue}`, undefined, { token: accessToken });
  assert.equal(all.status, 200, all.text);
  assert.deepEqual(all.json.data, { redriven: 1, ids: [two] });
  await waitFor('row published', () => rowState(two) === '0|f|t');

  assertError(await post('/api/v1/admin/outbox/999999999999/redrive', undefined, { token: accessToken }), 404, 'NOT_FOUND');
  assertError(await post('/api/v1/admin/outbox/abc/redrive', undefined, { token: accessToken }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/admin/outbox/redrive?queue=a%20b', undefined, { token: accessToken }), 400, 'VALIDATION_FAILED');
  const user = await loginUser(2);
  assertError(await post('/api/v1/admin/outbox/redrive', undefined, { token: user.accessToken }), 403, 'FORBIDDEN');
  assertError(await post(`/api/v1/admin/outbox/${two}/redrive`, undefined, { token: user.accessToken }), 403, 'FORBIDDEN');
});

// Issue 18: one bad live-event row does not stall the live relay. Redis
// refuses this row's event for a fault of its own (its room's stream key
// holds a string: WRONGTYPE): it is set aside with the error, and the rows
// beside it are published (they used to wait behind it for ever).
test('a live event Redis refuses for its own fault is set aside; the others are published', { skip: CLUSTER && 'keys of one node' }, async () => {
  const tag = `t-live-${Date.now()}`;
  redisCli('SET', `{${tag}-bad}:events`, 'not a stream');
  try {
    const live = (room, key) => psql(`INSERT INTO outbox (topic, payload, ordering_key)
      VALUES ('live', '{"room": "${room}", "event": "t.ping", "data": "{}"}', '${key}') RETURNING id`).split('\n')[0];
    const bad = live(`${tag}-bad`, `${tag}:a`);
    const good = live(`${tag}-good`, `${tag}:b`);
    psql('NOTIFY bazaar_outbox_jobs');
    await waitFor('the good event published', () => psql(`SELECT published_at IS NOT NULL FROM outbox WHERE id = ${good}`) === 't');
    await waitFor('the bad event set aside', () => psql(`SELECT failed_at IS NOT NULL FROM outbox WHERE id = ${bad}`) === 't');
    assert.match(psql(`SELECT last_error FROM outbox WHERE id = ${bad}`), /WRONGTYPE/);
    assert.equal(psql(`SELECT published_at IS NULL FROM outbox WHERE id = ${bad}`), 't');
  } finally {
    redisCli('DEL', `{${tag}-bad}:events`);
  }
});

test('a live event set aside after a later one of its order was published is never re-driven (it would arrive out of order)', async () => {
  const { accessToken } = await loginAdmin();
  const key = `order:redrive-order-${Date.now()}`;
  const row = (payload, extra) => psql(`INSERT INTO outbox (topic, payload, ordering_key${extra ? ', ' + extra[0] : ''}) ` +
    `VALUES ('live', '${payload}', '${key}'${extra ? ', ' + extra[1] : ''}) RETURNING id`).split('\n')[0];
  const early = row('{"room":"user:x","event":"order.paid","data":"{}"}', ['failed_at', 'now()']);
  row('{"room":"user:x","event":"order.shipped","data":"{}"}', ['published_at', 'now()']);
  assertError(await post(`/api/v1/admin/outbox/${early}/redrive`, undefined, { token: accessToken }), 409, 'INVALID_TRANSITION');
  assert.equal(psql(`SELECT failed_at IS NOT NULL FROM outbox WHERE id = ${early}`), 't');
});

// Issue 7, queue edge cases through the stack: an outbox row the relay can
// never publish is set aside (not retried for ever) and shown to operators in
// /metrics and GET /api/v1/admin/outbox/failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, psql, waitFor, assertError } from '../lib/client.mjs';
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

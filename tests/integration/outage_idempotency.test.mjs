// Issue 18: a request that ended in 503 releases its Idempotency-Key, even
// when the release itself meets the outage. Here the order's transaction is
// held past PG_TIMEOUT_MS by a lock (what a frozen Postgres looks like from
// the handler), the answer is 503 UNAVAILABLE, and the connection it was cut
// on cannot be used for the release at once: the key used to stay leased
// until IDEMPOTENCY_LEASE_MS ran out, so the client's retry got 409
// IDEMPOTENCY_IN_PROGRESS. Now the key row is deleted as soon as Postgres
// answers, and the retry with the same key places the order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { post, psql, waitFor, assertError } from '../lib/client.mjs';
import { loginAdmin, registerUser } from '../lib/auth_helpers.mjs';

// Holds ACCESS EXCLUSIVE on `orders` for `seconds` in a psql of its own;
// resolves once the lock is held, with {released}: the promise of its end
// (wrapped: an async function returning a promise would wait for it).
async function lockOrders(seconds) {
  const child = spawn('psql', ['-h', '127.0.0.1', '-p', process.env.PG_PORT || '25432', '-U', process.env.PG_USER || 'postgres',
    '-d', process.env.PG_DB || 'bazaar', '-v', 'ON_ERROR_STOP=1', '-c',
    `BEGIN; LOCK TABLE orders IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(${seconds}); COMMIT;`], { stdio: 'ignore' });
  const done = new Promise((resolve) => child.on('exit', resolve));
  // (pg_locks spans every database: only this one's table counts)
  await waitFor('the lock on orders', () =>
    psql(`SELECT count(*) FROM pg_locks WHERE relation = 'orders'::regclass AND mode = 'AccessExclusiveLock'
          AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`) !== '0');
  return { released: done };
}

test('a checkout that ended in 503 releases its Idempotency-Key: the retry places the order', async () => {
  const admin = await loginAdmin();
  const user = await registerUser('idem503');
  const book = await post('/api/v1/books', { title: `Idem ${Date.now()}`, author: 'I', priceCents: 500, stock: 5 }, { token: admin.accessToken });
  assert.equal(book.status, 201, book.text);
  assert.equal((await post('/api/v1/cart/items', { bookId: String(book.json.data.id), quantity: 1 }, { token: user.accessToken })).status, 200);
  const key = crypto.randomUUID();
  const keyRow = () => psql(`SELECT count(*) FROM idempotency_keys WHERE key = '${key}'`);

  const { released } = await lockOrders(2.5);
  let first;
  try {
    first = await post('/api/v1/orders', {}, { token: user.accessToken, headers: { 'Idempotency-Key': key } });
  } finally {
    await released;
  }
  assertError(first, 503, 'UNAVAILABLE');

  // The key row goes away once Postgres answers (it used to stay, leased).
  await waitFor('the key to be released', () => keyRow() === '0', 10000);
  const retry = await post('/api/v1/orders', {}, { token: user.accessToken, headers: { 'Idempotency-Key': key } });
  assert.equal(retry.status, 201, retry.text);
  assert.equal(retry.json.data.status, 'PAYMENT_PENDING');
});

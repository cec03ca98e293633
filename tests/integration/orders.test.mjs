// Orders (API.md §5, issue 9) through nginx against the real stack: checkout
// from the cart with stock reserved in Redis and taken in Postgres, the
// status machine (and its trigger), idempotency keys (replay, mismatch, in
// flight, a process killed mid-request), expiry with two workers, cancel
// racing expiry, the outbox of order events (a worker stopped between commit
// and publish, a relay that published but never stamped), and 500 buyers of
// 100 books across the fcgi processes, also while Redis restarts or is
// flushed — never an oversell, and Postgres and Redis agree at the end.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { request, get, post, assertError, svc, waitFor, redisCli, psql } from '../lib/client.mjs';
import { loginAdmin, registerUser, signJwt } from '../lib/auth_helpers.mjs';
import { waitCartsPersisted } from '../lib/cart_persist.mjs';

const VAR = process.env.BAZAAR_VAR_DIR || 'var/test';
const ROOT = process.env.BAZAAR_ROOT || process.cwd();
const BUILD = process.env.BUILD_DIR || `${ROOT}/build`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let admin;
let seq = 0;
const spawned = [];
before(async () => { admin = await loginAdmin(); });
after(() => { for (const p of spawned) try { p.kill('SIGKILL'); } catch { /* gone */ } });

async function createBook(stock, extra = {}) {
  const res = await post('/api/v1/books', { title: `Order ${Date.now()}-${++seq}`, author: 'O', priceCents: 1250, stock, ...extra }, { token: admin.accessToken });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

// Users straight into Postgres with a well-formed hash (migration 0003), and
// tokens signed with the stack's secret: 500 buyers without 500 argon2 runs.
function makeUsers(n) {
  const ids = Array.from({ length: n }, () => randomUUID());
  const hash = '$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g';
  psql(`INSERT INTO users (id, email, username, password_hash) SELECT u::uuid, 'o-' || u || '@example.com', 'buyer', '${hash}' FROM unnest(ARRAY['${ids.join("','")}']) u`);
  const now = Math.floor(Date.now() / 1000);
  return ids.map((id) => ({ id, token: signJwt({ sub: id, role: 'user', iat: now - 1, exp: now + 3600 }) }));
}

const key = () => `k-${randomUUID()}`;
const checkout = (token, k = key(), body) => request('POST', '/api/v1/orders', { token, headers: k === null ? {} : { 'Idempotency-Key': k }, body, timeoutMs: 60000 });
const addToCart = (token, bookId, quantity) => post('/api/v1/cart/items', { bookId: String(bookId), quantity }, { token, timeoutMs: 60000 });
const pgStock = (bookId) => Number(psql(`SELECT stock FROM books WHERE id = ${bookId}`));
const redisStock = (bookId) => {
  const a = redisCli('HGET', `{stock}:b:${bookId}`, 'a');
  return a === '' ? null : Number(a);
};
// The counter, unless the worker's sweep has just dropped it (it drops every
// counter now and then, orders/stock.hpp; the next use reloads Postgres's).
const assertRedisStock = (bookId, expected, message) => {
  const r = redisStock(bookId);
  if (r !== null) assert.equal(r, expected, message);
};
// Holds of checkouts still in flight (or of a killed process, until swept).
const liveHolds = () => Number(redisCli('ZCARD', '{stock}:holds'));
async function assertAgree(bookId) {
  await waitFor(`Redis and Postgres to agree on book ${bookId}`, async () => {
    if (liveHolds() !== 0) return false;
    const r = redisStock(bookId);
    return r === null || r === pgStock(bookId);
  }, 30000);
  assert.ok(pgStock(bookId) >= 0);
}
// The order events of a user's stream: [{event, data}].
function orderEvents(userId) {
  const out = redisCli('XRANGE', `{u:${userId}}:events`, '-', '+').split('\n');
  const list = [];
  for (let i = 0; i + 4 < out.length; i += 5) {
    if (!out[i + 2].startsWith('order.')) continue;
    list.push({ id: out[i], event: out[i + 2], data: JSON.parse(out[i + 4]) });
  }
  return list;
}

test('checkout: the order from the cart, prices from Postgres, stock taken, cart cleared, order.created', async () => {
  const b1 = await createBook(5);
  const b2 = await createBook(3, { priceCents: 700 });
  const u = await registerUser('ord');
  assert.equal((await addToCart(u.accessToken, b1.id, 2)).status, 200);
  assert.equal((await addToCart(u.accessToken, b2.id, 1)).status, 200);
  // A price change after the cart was filled: never charged silently (409
  // PRICE_CHANGED, the cart refreshed); the order then charges the catalog's price.
  const patch = await request('PATCH', `/api/v1/books/${b2.id}`, { token: admin.accessToken, body: { priceCents: 900 } });
  assert.equal(patch.status, 200, patch.text);

  assertError(await checkout(u.accessToken, null), 400, 'VALIDATION_FAILED');
  assertError(await checkout(u.accessToken), 409, 'PRICE_CHANGED');
  assert.equal((await get('/api/v1/cart', { token: u.accessToken })).json.data.totalCents, 2 * 1250 + 900);
  const res = await checkout(u.accessToken);
  assert.equal(res.status, 201, res.text);
  const o = res.json.data;
  assert.equal(o.status, 'PAYMENT_PENDING');
  assert.match(o.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(o.items.map((i) => [i.bookId, i.quantity, i.unitPriceCents]).sort(),
    [[String(b1.id), 2, 1250], [String(b2.id), 1, 900]].sort());
  assert.equal(o.totalCents, 2 * 1250 + 900);
  assert.equal(o.currency, 'USD');
  assert.equal(o.payment, null);
  const ttl = Date.parse(o.expiresAt) - Date.parse(o.createdAt);
  assert.ok(ttl > 890000 && ttl <= 900000, `expiresAt − createdAt = ${ttl} ms`);
  assert.equal(pgStock(b1.id), 3);
  assert.equal(pgStock(b2.id), 2);
  await assertAgree(b1.id);
  await assertAgree(b2.id);
  const cart = (await get('/api/v1/cart', { token: u.accessToken })).json.data;
  assert.deepEqual(cart.items, []);
  await waitFor('order.created in the user stream', () => orderEvents(u.user.id).some((e) => e.event === 'order.created' && e.data.orderId === o.id));
  const ev = orderEvents(u.user.id).find((e) => e.event === 'order.created');
  assert.equal(ev.data.order.totalCents, o.totalCents);
  // The expiry job is queued for expiresAt.
  assert.equal(psql(`SELECT count(*) FROM outbox WHERE topic = 'job:order-expiry' AND payload->'data'->>'orderId' = '${o.id}'`), '1');

  assertError(await checkout(u.accessToken), 400, 'VALIDATION_FAILED');  // the cart is empty now
  assertError(await checkout(u.accessToken, key(), { items: [] }), 400, 'VALIDATION_FAILED');
});

test('OUT_OF_STOCK names every short line and reserves nothing', async () => {
  const scarce = await createBook(2);
  const plenty = await createBook(10);
  const [a, b] = [await registerUser('oos'), await registerUser('oos')];
  await addToCart(a.accessToken, scarce.id, 2);
  await addToCart(b.accessToken, scarce.id, 2);
  await addToCart(b.accessToken, plenty.id, 4);
  assert.equal((await checkout(a.accessToken)).status, 201);
  const res = await checkout(b.accessToken);
  const err = assertError(res, 409, 'OUT_OF_STOCK');
  assert.deepEqual(err.details, [{ bookId: String(scarce.id), requested: 2, available: 0 }]);
  assert.equal(pgStock(plenty.id), 10);
  assertRedisStock(plenty.id, 10, 'the line that could be served was not reserved either');
  assert.equal((await get('/api/v1/cart', { token: b.accessToken })).json.data.items.length, 2, 'the cart is kept');
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${b.user.id}'`), '0');
});

test('an admin restock is sold at once: the stock counter follows PATCH stock', async () => {
  const book = await createBook(1);
  const [a, b] = [await registerUser('restock'), await registerUser('restock')];
  await addToCart(a.accessToken, book.id, 1);
  assert.equal((await checkout(a.accessToken)).status, 201);
  assertRedisStock(book.id, 0);
  const patch = await request('PATCH', `/api/v1/books/${book.id}`, { token: admin.accessToken, body: { stock: 3 } });
  assert.equal(patch.status, 200, patch.text);
  assert.equal((await addToCart(b.accessToken, book.id, 3)).status, 200);
  const res = await checkout(b.accessToken);
  assert.equal(res.status, 201, res.text);
  assert.equal(pgStock(book.id), 0);
  await assertAgree(book.id);
});

test('get and list: own orders only, newest first, cursor pages', async () => {
  const book = await createBook(20);
  const u = await registerUser('list');
  const other = await registerUser('list');
  const ids = [];
  for (let i = 0; i < 3; i++) {
    await addToCart(u.accessToken, book.id, 1);
    const r = await checkout(u.accessToken);
    assert.equal(r.status, 201, r.text);
    ids.push(r.json.data.id);
  }
  const one = await get(`/api/v1/orders/${ids[0]}`, { token: u.accessToken });
  assert.equal(one.status, 200);
  assert.equal(one.json.data.id, ids[0]);
  assert.equal((await get(`/api/v1/orders/${ids[0].toUpperCase()}`, { token: u.accessToken })).status, 200);
  assertError(await get(`/api/v1/orders/${ids[0]}`, { token: other.accessToken }), 404, 'NOT_FOUND');
  assertError(await get(`/api/v1/orders/${randomUUID()}`, { token: u.accessToken }), 404, 'NOT_FOUND');
  assertError(await get('/api/v1/orders/not-a-uuid', { token: u.accessToken }), 404, 'NOT_FOUND');
  assertError(await get('/api/v1/orders', {}), 401, 'UNAUTHENTICATED');

  const p1 = await get('/api/v1/orders?limit=2', { token: u.accessToken });
  assert.equal(p1.status, 200, p1.text);
  assert.deepEqual(p1.json.data.map((o) => o.id), [ids[2], ids[1]]);
  assert.equal(p1.json.meta.limit, 2);
  const p2 = await get(`/api/v1/orders?limit=2&cursor=${encodeURIComponent(p1.json.meta.nextCursor)}`, { token: u.accessToken });
  assert.deepEqual(p2.json.data.map((o) => o.id), [ids[0]]);
  assert.equal(p2.json.meta.nextCursor, null);
  // Another user's cursor, a forged one, a bad limit: 400.
  assertError(await get(`/api/v1/orders?cursor=${encodeURIComponent(p1.json.meta.nextCursor)}`, { token: other.accessToken }), 400, 'VALIDATION_FAILED');
  assertError(await get('/api/v1/orders?cursor=AAAA', { token: u.accessToken }), 400, 'VALIDATION_FAILED');
  assertError(await get('/api/v1/orders?limit=0', { token: u.accessToken }), 400, 'VALIDATION_FAILED');
  assert.deepEqual((await get('/api/v1/orders', { token: other.accessToken })).json.data, []);
});

test('cancel releases the stock once; every other move is INVALID_TRANSITION, in the database too', async () => {
  const book = await createBook(4);
  const u = await registerUser('cancel');
  const other = await registerUser('cancel');
  await addToCart(u.accessToken, book.id, 3);
  const o = (await checkout(u.accessToken)).json.data;
  assert.equal(pgStock(book.id), 1);
  assertError(await post(`/api/v1/orders/${o.id}/cancel`, undefined, { token: other.accessToken }), 404, 'NOT_FOUND');
  assertError(await post(`/api/v1/orders/${o.id}/cancel`, { reason: 'x' }, { token: u.accessToken }), 400, 'VALIDATION_FAILED');
  const res = await post(`/api/v1/orders/${o.id}/cancel`, undefined, { token: u.accessToken });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.status, 'CANCELLED');
  assert.equal(pgStock(book.id), 4);
  await assertAgree(book.id);
  assertError(await post(`/api/v1/orders/${o.id}/cancel`, undefined, { token: u.accessToken }), 409, 'INVALID_TRANSITION');
  assert.equal(pgStock(book.id), 4, 'released once');
  await waitFor('order.cancelled', () => orderEvents(u.user.id).some((e) => e.event === 'order.cancelled'));
  // The trigger refuses what the code would: no path skips the machine.
  assert.throws(() => execFileSync('psql', ['-h', '127.0.0.1', '-p', process.env.PG_PORT, '-U', process.env.PG_USER || 'postgres', '-d', process.env.PG_DB || 'bazaar',
    '-v', 'ON_ERROR_STOP=1', '-tAc', `UPDATE orders SET status = 'PAID' WHERE id = '${o.id}'`], { stdio: 'pipe' }), /cannot move from CANCELLED to PAID/);
  assert.throws(() => execFileSync('psql', ['-h', '127.0.0.1', '-p', process.env.PG_PORT, '-U', process.env.PG_USER || 'postgres', '-d', process.env.PG_DB || 'bazaar',
    '-v', 'ON_ERROR_STOP=1', '-tAc', `INSERT INTO orders (user_id, status, total_cents) VALUES ('${u.user.id}', 'SHIPPED', 0)`], { stdio: 'pipe' }), /cannot start as SHIPPED/);
  assert.equal(psql(`SELECT status FROM orders WHERE id = '${o.id}'`), 'CANCELLED');
});

// A psql session that holds a book's row lock, so a checkout waits inside
// its Postgres transaction (after its Redis reservation).
function lockBook(bookId, tag) {
  const p = spawn('psql', ['-h', '127.0.0.1', '-p', process.env.PG_PORT, '-U', process.env.PG_USER || 'postgres', '-d', process.env.PG_DB || 'bazaar'],
    { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, PGAPPNAME: tag } });
  p.stdin.write(`BEGIN; SELECT 1 FROM books WHERE id = ${bookId} FOR UPDATE; SELECT pg_sleep(60);\n`);
  spawned.push(p);
  return p;
}
function unlock(tag, p) {
  psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${tag}'`);
  p.kill();
}
const waitingCheckouts = () => psql(`SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE books SET stock = stock -%'`);

test('idempotency: replay byte for byte, another body, in flight', async () => {
  const book = await createBook(10);
  const u = await registerUser('idem');
  await addToCart(u.accessToken, book.id, 1);
  const k = key();
  const first = await checkout(u.accessToken, k);
  assert.equal(first.status, 201, first.text);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const again = await checkout(u.accessToken, k);
  assert.equal(again.status, 201);
  assert.equal(again.text, first.text, 'byte for byte');
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal(again.headers.get('content-type'), first.headers.get('content-type'));
  assertError(await checkout(u.accessToken, k, {}), 422, 'IDEMPOTENCY_KEY_REUSED');
  assertError(await checkout(u.accessToken, 'x'.repeat(256)), 400, 'VALIDATION_FAILED');
  assertError(await checkout(u.accessToken, ''), 400, 'VALIDATION_FAILED');
  // The same key is another user's own key.
  const v = await registerUser('idem');
  await addToCart(v.accessToken, book.id, 1);
  assert.equal((await checkout(v.accessToken, k)).status, 201);
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${u.user.id}'`), '1');
  // An outcome that is an error is replayed too (OUT_OF_STOCK).
  const w = await registerUser('idem');
  const gone = await createBook(1);
  await addToCart(w.accessToken, gone.id, 1);
  psql(`UPDATE books SET stock = 0, stock_seq = stock_seq + 1 WHERE id = ${gone.id}`);
  redisCli('DEL', `{stock}:b:${gone.id}`);
  const k2 = key();
  const oos = await checkout(w.accessToken, k2);
  assertError(oos, 409, 'OUT_OF_STOCK');
  const oos2 = await checkout(w.accessToken, k2);
  assert.equal(oos2.text, oos.text);
  assert.equal(oos2.headers.get('idempotent-replayed'), 'true');

  // In flight: the first request waits on a row lock inside its transaction.
  await addToCart(u.accessToken, book.id, 1);
  const tag = `idemlock-${u.user.id}`;
  const locker = lockBook(book.id, tag);
  await waitFor('the lock', () => psql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = '${tag}' AND state = 'active'`) === '1');
  const k3 = key();
  const pending = checkout(u.accessToken, k3);
  await waitFor('the checkout to wait on the lock', () => waitingCheckouts() !== '', 5000);
  assertError(await checkout(u.accessToken, k3), 409, 'IDEMPOTENCY_IN_PROGRESS');
  unlock(tag, locker);
  const done = await pending;
  assert.equal(done.status, 201, done.text);
  const replay = await checkout(u.accessToken, k3);
  assert.equal(replay.text, done.text);
  await assertAgree(book.id);
});

test('idempotency: the fcgi process holding the key is killed; the retry finds a clean slate, never a second order', async () => {
  const book = await createBook(10);
  const u = await registerUser('kill');
  await addToCart(u.accessToken, book.id, 2);
  const tag = `killlock-${u.user.id}`;
  const locker = lockBook(book.id, tag);
  await waitFor('the lock', () => psql(`SELECT count(*) FROM pg_stat_activity WHERE application_name = '${tag}' AND state = 'active'`) === '1');
  const k = key();
  const pending = checkout(u.accessToken, k).catch((e) => ({ status: 0, error: e }));
  let port = '';
  await waitFor('the checkout to wait on the lock', () => (port = waitingCheckouts()) !== '', 5000);
  // The fcgi process that owns that Postgres connection: over TCP by its
  // client port, over the unix socket (scripts/stack's default, client_port
  // -1) as the peer of the waiting backend's socket.
  let ss;
  if (port !== '-1') {
    ss = execFileSync('ss', ['-Htnp', `sport = :${port}`], { encoding: 'utf8' });
  } else {
    const backend = psql(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE books SET stock = stock -%'`);
    const lines = execFileSync('ss', ['-Hxpn'], { encoding: 'utf8' }).split('\n');
    const mine = lines.find((l) => l.includes(`pid=${backend},`));
    const peer = mine?.trim().split(/\s+/)[7];
    ss = lines.find((l) => l.trim().split(/\s+/)[5] === peer) ?? `no peer for backend ${backend}: ${mine}`;
  }
  const pid = Number(/pid=(\d+)/.exec(ss)?.[1]);
  assert.ok(pid > 0, `no process for port ${port}: ${ss}`);
  assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /bazaar-fcgi/);
  process.kill(pid, 'SIGKILL');
  unlock(tag, locker);
  const lost = await pending;
  assert.notEqual(lost.status, 201, 'the killed request did not answer 201');
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${u.user.id}'`), '0', 'nothing committed');
  // While the lease runs the key is still held...
  const early = await checkout(u.accessToken, k);
  if (early.status !== 201) assertError(early, 409, 'IDEMPOTENCY_IN_PROGRESS');
  // ...then the retry runs again, exactly once.
  let done = early;
  await waitFor('the lease to run out', async () => (done = done.status === 201 ? done : await checkout(u.accessToken, k)).status === 201, 20000);
  const replay = await checkout(u.accessToken, k);
  assert.equal(replay.text, done.text);
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${u.user.id}'`), '1');
  assert.equal(pgStock(book.id), 8);
  // The dead request's hold is returned by the sweep; then both sides agree.
  await assertAgree(book.id);
  assertRedisStock(book.id, 8);
});

function startSecondWorker() {
  const p = spawn(`${BUILD}/workers/bazaar-worker`, [], { stdio: 'ignore', env: { ...process.env } });
  spawned.push(p);
  return p;
}

test('expiry: exactly once with two workers, stock released once, order.expired', async () => {
  const worker2 = startSecondWorker();
  try {
    const book = await createBook(6);
    const u = await registerUser('exp');
    await addToCart(u.accessToken, book.id, 2);
    const o = (await checkout(u.accessToken)).json.data;
    assert.equal(pgStock(book.id), 4);
    psql(`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = '${o.id}'`);
    await waitFor('EXPIRED', async () => (await get(`/api/v1/orders/${o.id}`, { token: u.accessToken })).json.data.status === 'EXPIRED', 20000);
    await waitFor('order.expired', () => orderEvents(u.user.id).some((e) => e.event === 'order.expired'));
    await sleep(1500);  // both sweepers ran again meanwhile
    assert.equal(orderEvents(u.user.id).filter((e) => e.event === 'order.expired').length, 1);
    assert.equal(pgStock(book.id), 6);
    assert.equal(psql(`SELECT stock_released FROM orders WHERE id = '${o.id}'`), 't');
    await assertAgree(book.id);
    assertError(await post(`/api/v1/orders/${o.id}/cancel`, undefined, { token: u.accessToken }), 409, 'INVALID_TRANSITION');
    // The delayed job, when it runs later, finds nothing to do.
    const job = JSON.stringify({ orderId: o.id });
    assert.ok(job);
  } finally {
    worker2.kill('SIGTERM');
  }
});

test('cancel racing expiry: one wins, the stock comes back once', async () => {
  const book = await createBook(30);
  const users = makeUsers(6).map((u) => ({ accessToken: u.token, user: { id: u.id } }));
  const orders = [];
  for (const u of users) {
    await addToCart(u.accessToken, book.id, 2);
    orders.push({ u, o: (await checkout(u.accessToken)).json.data });
  }
  assert.equal(pgStock(book.id), 18);
  psql(`UPDATE orders SET expires_at = now() WHERE id IN ('${orders.map((x) => x.o.id).join("','")}')`);
  const results = await Promise.all(orders.map(({ u, o }) => post(`/api/v1/orders/${o.id}/cancel`, undefined, { token: u.accessToken })));
  for (const [i, r] of results.entries()) {
    if (r.status === 200) assert.equal(r.json.data.status, 'CANCELLED');
    else assertError(r, 409, 'INVALID_TRANSITION');
    const { u, o } = orders[i];
    await waitFor('a final status', async () => ['CANCELLED', 'EXPIRED'].includes((await get(`/api/v1/orders/${o.id}`, { token: u.accessToken })).json.data.status));
    const status = (await get(`/api/v1/orders/${o.id}`, { token: u.accessToken })).json.data.status;
    assert.equal(status, r.status === 200 ? 'CANCELLED' : 'EXPIRED');
  }
  await waitFor('every order settled', () => pgStock(book.id) === 30);
  await sleep(1200);
  assert.equal(pgStock(book.id), 30, 'released exactly once each');
  await assertAgree(book.id);
});

test('outbox: events written while no worker runs arrive once after it starts; a relay that never stamped does not repeat them', async () => {
  const book = await createBook(5);
  const u = await registerUser('outbox');
  await addToCart(u.accessToken, book.id, 1);
  svc('stop', 'worker');
  let o;
  try {
    o = (await checkout(u.accessToken)).json.data;
    await post(`/api/v1/orders/${o.id}/cancel`, undefined, { token: u.accessToken });
    await sleep(500);
    assert.equal(orderEvents(u.user.id).length, 0, 'committed, not published yet');
    assert.equal(psql(`SELECT count(*) FROM outbox WHERE topic = 'live' AND ordering_key = 'order:${o.id}' AND published_at IS NULL`), '2');
  } finally {
    svc('start', 'worker');
  }
  await waitFor('both events', () => orderEvents(u.user.id).length === 2);
  assert.deepEqual(orderEvents(u.user.id).map((e) => e.event), ['order.created', 'order.cancelled'], 'in commit order');
  // A relay that died after publishing and before its stamp committed.
  psql(`UPDATE outbox SET published_at = NULL WHERE topic = 'live' AND ordering_key = 'order:${o.id}'`);
  await waitFor('the rows relayed again', () => psql(`SELECT count(*) FROM outbox WHERE ordering_key = 'order:${o.id}' AND published_at IS NULL`) === '0');
  assert.equal(orderEvents(u.user.id).length, 2, 'no duplicate');
  const m = await get('/metrics');
  assert.match(m.text, /outbox/);
});

// 500 buyers (their carts persisted to Postgres first, so that a FLUSHALL
// rebuilds them), one book of 100.
async function buyers(stock, n = 500) {
  const book = await createBook(stock);
  const users = makeUsers(n);
  for (let i = 0; i < n; i += 50)
    await Promise.all(users.slice(i, i + 50).map(async (u) => {
      const r = await addToCart(u.token, book.id, 1);
      assert.equal(r.status, 200, r.text);
    }));
  await waitCartsPersisted(book.id, users.map((u) => u.id));
  return { book, users };
}

// Runs every buyer's checkout (retrying 503s with the same key, as a client
// would) while `disturb` runs; returns the final statuses.
async function rush(users, disturb) {
  const statuses = new Map();
  const keys = new Map(users.map((u) => [u.id, key()]));
  const one = async (u) => {
    for (let attempt = 0; attempt < 60; attempt++) {
      const r = await checkout(u.token, keys.get(u.id)).catch(() => ({ status: 0 }));
      if (r.status === 201 || (r.status === 409 && r.json?.error?.code === 'OUT_OF_STOCK')) {
        statuses.set(u.id, r.status);
        return;
      }
      if (r.status === 400 && r.json?.error?.code === 'VALIDATION_FAILED') {  // cart already ordered and cleared by an earlier attempt's commit
        statuses.set(u.id, r.status);
        return;
      }
      await sleep(200);
    }
    statuses.set(u.id, -1);
  };
  await Promise.all([Promise.all(users.map(one)), disturb ? disturb() : null]);
  return statuses;
}

// While Redis is away, a hold whose reserve timed out cannot be told from one
// in flight: it keeps its stock until it is aborted or swept (its lease), so
// some buyers meanwhile hear OUT_OF_STOCK. Never more than the stock is sold;
// once the holds are settled, the buyers who were refused find the rest.
async function sellTheRest(book, users, statuses) {
  await waitFor('every hold settled', () => liveHolds() === 0, 30000);
  const refused = users.filter((u) => statuses.get(u.id) === 409);
  assert.ok(Number(psql(`SELECT count(*) FROM order_items WHERE book_id = ${book.id}`)) <= 100, 'never more than the stock');
  const again = await rush(refused);
  for (const [id, st] of again) statuses.set(id, st);
}

async function assertNoOversell(book, users, statuses, stock) {
  const orders = Number(psql(`SELECT count(*) FROM order_items WHERE book_id = ${book.id}`));
  const sold = Number(psql(`SELECT COALESCE(sum(quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.book_id = ${book.id} AND NOT o.stock_released`));
  assert.equal(orders, stock, 'exactly the stock was sold');
  assert.equal(pgStock(book.id), stock - sold);
  assert.equal(pgStock(book.id), 0);
  assert.equal([...statuses.values()].filter((s) => s === -1).length, 0, 'every buyer got an answer');
  // No user has two orders (each retried with its own key).
  assert.equal(psql(`SELECT count(*) FROM (SELECT user_id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.book_id = ${book.id} GROUP BY user_id HAVING count(*) > 1) x`), '0');
  await assertAgree(book.id);
}

test('500 concurrent buyers, 100 in stock: exactly 100 orders, never negative, Redis = Postgres', async () => {
  const { book, users } = await buyers(100);
  const statuses = await rush(users);
  assert.equal([...statuses.values()].filter((s) => s === 201).length, 100);
  assert.equal([...statuses.values()].filter((s) => s === 409).length, 400);
  await assertNoOversell(book, users, statuses, 100);
});

test('500 buyers while Redis restarts mid-run: no oversell, the counters rebuilt agree', async () => {
  const { book, users } = await buyers(100);
  const statuses = await rush(users, async () => {
    await sleep(300);
    svc('restart', 'redis');
  });
  await sellTheRest(book, users, statuses);
  await assertNoOversell(book, users, statuses, 100);
});

test('500 buyers while Redis is flushed mid-run: no oversell, the counters rebuilt agree', async () => {
  const { book, users } = await buyers(100);
  const statuses = await rush(users, async () => {
    await sleep(300);
    redisCli('FLUSHALL');
  });
  await sellTheRest(book, users, statuses);
  await assertNoOversell(book, users, statuses, 100);
});

test('a counter left lower than Postgres (a release whose mirror was lost) is rebuilt by the worker', async () => {
  const book = await createBook(7);
  const u = await registerUser('heal');
  await addToCart(u.accessToken, book.id, 1);
  assert.equal((await checkout(u.accessToken)).status, 201);
  await assertAgree(book.id);
  // Lowered only while loaded: the sweep may drop the counter at any moment
  // (then the premise is already what the sweep makes of it: no counter).
  const lowered = redisCli('EVAL', "if redis.call('HEXISTS', KEYS[1], 'e') == 1 then " +
    "return redis.call('HINCRBY', KEYS[1], 'a', -3) end return -100", '1', `{stock}:b:${book.id}`);
  assert.ok(['3', '-100'].includes(lowered), `counter ${lowered}`);
  await waitFor('the counter dropped by the sweep', () => redisStock(book.id) === null, 30000);
  const v = await registerUser('heal');
  await addToCart(v.accessToken, book.id, 6);
  const res = await checkout(v.accessToken);
  assert.equal(res.status, 201, res.text);
  assert.equal(pgStock(book.id), 0);
  await assertAgree(book.id);
});

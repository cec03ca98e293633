// Checkout and payments exactly right (issue 18, items 3, 4, 8 and the low
// payment/checkout items; docs/orders-payments.md), through nginx
// against the real stack:
//   - payments/init without Idempotency-Key (the contract does not ask for it);
//   - the admin's status moves: fulfilment and cancellation only, never a
//     money state (PAID, REFUNDED), never the refund of an unpaid order;
//     the refund of a paid order runs through the refund job;
//   - hoarding: a cart checks out once (parallel checkouts with different
//     keys make one order), limits on unpaid orders per user and per book;
//   - a free order is paid at once, a total under the provider's minimum is
//     refused at checkout, neither is ever a 500;
//   - a mismatched payment: an alert, a refund, and a new intent on init;
//   - a price raised after the cart showed it: 409 PRICE_CHANGED, the cart
//     refreshed, never a silent higher charge;
//   - a retry whose first attempt committed finds that order;
//   - a refund the provider fails later: REFUND_FAILED, not REFUNDED;
//   - the cart's clear is a job of the order's own transaction.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { request, get, post, assertError, waitFor, psql, redisCli } from '../lib/client.mjs';
import { loginAdmin, registerUser } from '../lib/auth_helpers.mjs';

const [SECRET] = (process.env.WEBHOOK_SECRET || '').split(',');
// Stripe's scheme (API.md §5): v1 = HMAC-SHA256(secret, "<t>.<body>").
const signature = (payload) => {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${crypto.createHmac('sha256', SECRET).update(`${t}.${payload}`).digest('hex')}`;
};

let admin;
let seq = 0;
before(async () => { admin = await loginAdmin(); });

async function createBook(extra = {}) {
  const res = await post('/api/v1/books', { title: `Money ${Date.now()}-${++seq}`, author: 'M', priceCents: 1250, stock: 50, ...extra },
    { token: admin.accessToken });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

const key = () => crypto.randomUUID();
const addToCart = (user, book, quantity) => post('/api/v1/cart/items', { bookId: String(book.id), quantity }, { token: user.accessToken });
const checkout = (user, k = key()) => post('/api/v1/orders', {}, { token: user.accessToken, headers: { 'Idempotency-Key': k } });
const cartOf = async (user) => (await get('/api/v1/cart', { token: user.accessToken })).json.data;
const stockOf = (bookId) => Number(psql(`SELECT stock FROM books WHERE id = ${bookId}`));
const statusOf = (orderId) => psql(`SELECT status FROM orders WHERE id = '${orderId}'`);
// A counter of /metrics (one file shared by the host's processes).
const metric = async (name) => {
  const line = (await get('/metrics')).text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
};
const patchStatus = (orderId, status) => request('PATCH', `/api/v1/admin/orders/${orderId}/status`, { body: { status }, token: admin.accessToken });

async function orderFor(user, lines) {
  for (const [book, quantity] of lines) assert.equal((await addToCart(user, book, quantity)).status, 200);
  const res = await checkout(user);
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

const initNoKey = (user, orderId) => post('/api/v1/payments/init', { orderId }, { token: user.accessToken });

function intentEvent(type, intent, { amount = intent.amountCents, currency = intent.currency.toLowerCase() } = {}) {
  return JSON.stringify({
    id: `evt_${crypto.randomBytes(12).toString('hex')}`, object: 'event', type, created: Math.floor(Date.now() / 1000), livemode: false,
    data: { object: { id: intent.intentId, object: 'payment_intent', amount, currency, status: 'succeeded', metadata: {} } },
  });
}
function refundEvent(type, refundId, intentId, status) {
  return JSON.stringify({
    id: `evt_${crypto.randomBytes(12).toString('hex')}`, object: 'event', type, created: Math.floor(Date.now() / 1000), livemode: false,
    data: { object: { id: refundId, object: 'refund', amount: 1250, currency: 'usd', payment_intent: intentId, status } },
  });
}
const deliver = (payload) => request('POST', '/api/v1/payments/webhook', {
  raw: payload,
  headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature(payload) },
});

async function paid(user, order) {
  const init = await initNoKey(user, order.id);
  assert.equal(init.status, 201, init.text);
  const res = await deliver(intentEvent('payment_intent.succeeded', init.json.data));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.status, 'PAID', res.text);
  return init.json.data;
}

test('payments/init without Idempotency-Key: 201, and the same intent on every call', async () => {
  const user = await registerUser('nokey');
  const order = await orderFor(user, [[await createBook(), 1]]);
  const first = await initNoKey(user, order.id);
  assert.equal(first.status, 201, first.text);
  assert.equal(first.json.data.amountCents, 1250);
  const again = await initNoKey(user, order.id);
  assert.equal(again.status, 201, again.text);
  assert.deepEqual(again.json.data, first.json.data);
  assert.equal(again.headers.get('idempotent-replayed'), null);
  // A key is still honoured when given, and still validated.
  const k = key();
  const keyed = await post('/api/v1/payments/init', { orderId: order.id }, { token: user.accessToken, headers: { 'Idempotency-Key': k } });
  assert.equal(keyed.status, 201);
  const replay = await post('/api/v1/payments/init', { orderId: order.id }, { token: user.accessToken, headers: { 'Idempotency-Key': k } });
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assertError(await post('/api/v1/payments/init', { orderId: order.id }, { token: user.accessToken, headers: { 'Idempotency-Key': 'x'.repeat(256) } }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/payments/init', { orderId: order.id }, {}), 401, 'UNAUTHENTICATED');
  assertError(await initNoKey(user, 'nope'), 404, 'NOT_FOUND');
});

test('admin moves: never a money state, never the refund of an unpaid order; cancel, refund before shipping and after delivery work', async () => {
  const user = await registerUser('admmove');
  const book = await createBook({ stock: 20 });
  // PAYMENT_PENDING → PAID by hand would ship an unpaid order.
  const unpaid = await orderFor(user, [[book, 2]]);
  assertError(await patchStatus(unpaid.id, 'PAID'), 409, 'INVALID_TRANSITION');
  assert.equal(statusOf(unpaid.id), 'PAYMENT_PENDING');
  // Cancelling an unpaid order is an admin's move: stock back.
  const cancelled = await patchStatus(unpaid.id, 'CANCELLED');
  assert.equal(cancelled.status, 200, cancelled.text);
  assert.equal(stockOf(book.id), 20);
  // CANCELLED → REFUND_PENDING of a never-paid order would refund money never taken.
  assertError(await patchStatus(unpaid.id, 'REFUND_PENDING'), 409, 'INVALID_TRANSITION');
  assert.equal(psql(`SELECT count(*) FROM outbox WHERE payload->'options'->>'jobId' = 'refund:${unpaid.id}'`), '0');

  // A paid order: the admin asks for its refund (before it ships), the
  // refund job moves the money and only then is it REFUNDED.
  const order = await orderFor(user, [[book, 3]]);
  await paid(user, order);
  await waitFor('shipped', () => statusOf(order.id) === 'SHIPPED');
  assertError(await patchStatus(order.id, 'REFUNDED'), 409, 'INVALID_TRANSITION');
  const delivered = await patchStatus(order.id, 'DELIVERED');
  assert.equal(delivered.status, 200, delivered.text);
  // A return: the refund of a delivered order (API.md §5: "the refund of an
  // order that was paid"); its copies left the shop, so no stock comes back.
  const stockBefore = stockOf(book.id);
  const returned = await patchStatus(order.id, 'REFUND_PENDING');
  assert.equal(returned.status, 200, returned.text);
  await waitFor('the delivered order REFUNDED by the job', () =>
    psql(`SELECT status || ' ' || (refund_id IS NOT NULL) FROM orders WHERE id = '${order.id}'`) === 'REFUNDED true');
  assert.equal(stockOf(book.id), stockBefore, 'shipped copies are not stock again');

  // Paid orders caught before they ship (the fulfilment queue paused so
  // they wait): the admin moves one PAID → FULFILLING → REFUND_PENDING and
  // another PAID → REFUND_PENDING; the refund job moves the money, only then
  // REFUNDED, and the unshipped copies are back.
  const book2 = await createBook({ stock: 5 });
  const pause = await post('/api/v1/admin/queues/fulfillment/pause', {}, { token: admin.accessToken });
  assert.equal(pause.status, 200, pause.text);
  try {
    const a = await orderFor(user, [[book2, 2]]);
    await paid(user, a);
    const b = await orderFor(user, [[book2, 1]]);
    await paid(user, b);
    assert.equal(stockOf(book2.id), 2);
    assert.equal((await patchStatus(a.id, 'FULFILLING')).status, 200);
    const ra = await patchStatus(a.id, 'REFUND_PENDING');
    assert.equal(ra.status, 200, ra.text);
    assert.equal(ra.json.data.status, 'REFUND_PENDING');
    const rb = await patchStatus(b.id, 'REFUND_PENDING');
    assert.equal(rb.status, 200, rb.text);
    for (const o of [a, b])
      await waitFor('REFUNDED by the job, with the provider refund id', () =>
        psql(`SELECT status || ' ' || (refund_id IS NOT NULL) FROM orders WHERE id = '${o.id}'`) === 'REFUNDED true');
    assert.equal(stockOf(book2.id), 5, 'the unshipped copies are back');
    assertError(await patchStatus(a.id, 'REFUND_PENDING'), 409, 'INVALID_TRANSITION');
  } finally {
    await post('/api/v1/admin/queues/fulfillment/resume', {}, { token: admin.accessToken });
  }
});

test('admin moves: REFUND_PENDING → REFUNDED by hand is refused (no refund id would ever exist)', async () => {
  const user = await registerUser('refpend');
  const book = await createBook({ stock: 3 });
  const order = await orderFor(user, [[book, 1]]);
  const init = await initNoKey(user, order.id);
  // The customer cancels while paying; the payment lands: REFUND_PENDING
  // (the refund queue paused, so the job waits).
  assert.equal((await post('/api/v1/admin/queues/refunds/pause', {}, { token: admin.accessToken })).status, 200);
  try {
    assert.equal((await post(`/api/v1/orders/${order.id}/cancel`, undefined, { token: user.accessToken })).status, 200);
    const res = await deliver(intentEvent('payment_intent.succeeded', init.json.data));
    assert.equal(res.json.data.status, 'REFUND_PENDING', res.text);
    assertError(await patchStatus(order.id, 'REFUNDED'), 409, 'INVALID_TRANSITION');
    assert.equal(statusOf(order.id), 'REFUND_PENDING');
  } finally {
    await post('/api/v1/admin/queues/refunds/resume', {}, { token: admin.accessToken });
  }
  await waitFor('REFUNDED by the job', () => statusOf(order.id) === 'REFUNDED');
  assert.notEqual(psql(`SELECT refund_id FROM orders WHERE id = '${order.id}'`), '');
});

test('a cart checks out once: 8 parallel checkouts with different keys make one order', async () => {
  const user = await registerUser('parallel');
  const book = await createBook({ stock: 100 });
  assert.equal((await addToCart(user, book, 5)).status, 200);
  const results = await Promise.all(Array.from({ length: 8 }, () => checkout(user)));
  const created = results.filter((r) => r.status === 201);
  assert.equal(created.length, 1, results.map((r) => `${r.status} ${r.json?.error?.code ?? ''}`).join(', '));
  for (const r of results) {
    if (r.status === 201) continue;
    // The losers: this cart version was ordered (or, once cleared, is empty).
    assert.ok(r.status === 409 && r.json.error.code === 'CART_ALREADY_ORDERED' || r.status === 400, r.text);
  }
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${user.user.id}'`), '1');
  assert.equal(stockOf(book.id), 95);
});

test('hoarding limits: unpaid orders per user, units per book, units per user; paying or cancelling frees them', async () => {
  const user = await registerUser('hoard');
  const [b1, b2, b3, b4] = await Promise.all([1, 2, 3, 4].map(() => createBook({ stock: 100 })));
  // Units of one book (ORDER_MAX_UNITS_PER_BOOK = 10): 6 held, 5 more refused.
  const first = await orderFor(user, [[b1, 6]]);
  await addToCart(user, b1, 5);
  let err = assertError(await checkout(user), 409, 'ORDER_LIMIT');
  assert.deepEqual(err.details, [{ limit: 'ORDER_MAX_UNITS_PER_BOOK', max: 10, held: 6, requested: 5, bookId: String(b1.id) }]);
  assert.equal(stockOf(b1.id), 94, 'nothing reserved by the refused order');
  assert.equal((await cartOf(user)).items.length, 1, 'the cart is kept');
  await request('DELETE', '/api/v1/cart', { token: user.accessToken });
  // Units in all (ORDER_MAX_UNITS_PER_USER = 30): 6 + 20 held, then 10 more.
  await orderFor(user, [[b2, 10], [b3, 10]]);
  await addToCart(user, b4, 10);
  err = assertError(await checkout(user), 409, 'ORDER_LIMIT');
  assert.deepEqual(err.details, [{ limit: 'ORDER_MAX_UNITS_PER_USER', max: 30, held: 26, requested: 10 }]);
  await request('DELETE', '/api/v1/cart', { token: user.accessToken });
  // Unpaid orders at once (ORDER_MAX_OPEN_PER_USER = 3).
  await orderFor(user, [[b4, 1]]);
  await addToCart(user, b4, 1);
  err = assertError(await checkout(user), 409, 'ORDER_LIMIT');
  assert.equal(err.details[0].limit, 'ORDER_MAX_OPEN_PER_USER');
  assert.equal(err.details[0].max, 3);
  // Paying one frees its share: the same cart goes through (a new key).
  await paid(user, first);
  const res = await checkout(user);
  assert.equal(res.status, 201, res.text);
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${user.user.id}' AND status = 'PAYMENT_PENDING'`), '3');
});

test('hoarding limits hold under concurrency: parallel checkouts of one user from different carts never pass them', async () => {
  const user = await registerUser('hoardpar');
  const books = await Promise.all([1, 2, 3, 4, 5, 6].map(() => createBook({ stock: 100 })));
  // Six carts in turn would be six orders; in parallel the lock serialises them.
  const tries = [];
  for (const b of books) {
    assert.equal((await addToCart(user, b, 1)).status, 200);
    tries.push(checkout(user));
  }
  const results = await Promise.all(tries);
  const open = Number(psql(`SELECT count(*) FROM orders WHERE user_id = '${user.user.id}' AND status = 'PAYMENT_PENDING'`));
  assert.ok(open <= 3, `${open} unpaid orders: ${results.map((r) => r.status).join()}`);
});

test('a free book: the order is PAID at once and ships; payments/init answers 409, never 500', async () => {
  const user = await registerUser('free');
  const book = await createBook({ priceCents: 0, stock: 5 });
  const order = await orderFor(user, [[book, 2]]);
  assert.equal(order.status, 'PAID');
  assert.equal(order.totalCents, 0);
  assert.equal(order.expiresAt !== undefined, true);
  const k = key();
  const init = await post('/api/v1/payments/init', { orderId: order.id }, { token: user.accessToken, headers: { 'Idempotency-Key': k } });
  assertError(init, 409, 'INVALID_TRANSITION');
  await waitFor('the free order ships', () => statusOf(order.id) === 'SHIPPED');
  assert.equal(stockOf(book.id), 3);
  assert.deepEqual((await cartOf(user)).items, []);
});

test('a total under the provider\'s minimum is refused at checkout (409 AMOUNT_TOO_SMALL), nothing reserved', async () => {
  const user = await registerUser('tiny');
  const book = await createBook({ priceCents: 10, stock: 5 });
  await addToCart(user, book, 2);
  const err = assertError(await checkout(user), 409, 'AMOUNT_TOO_SMALL');
  assert.deepEqual(err.details, [{ totalCents: 20, minimumCents: 50, currency: 'USD' }]);
  assert.equal(stockOf(book.id), 5);
  assert.equal((await cartOf(user)).items.length, 1);
  // Enough of it is fine.
  await addToCart(user, book, 5);
  const ok = await checkout(user);
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.data.totalCents, 50);
});

test('a mismatched payment: recorded, refunded, and init hands out a new intent (the old one is spent)', async () => {
  const user = await registerUser('mismatch');
  const order = await orderFor(user, [[await createBook(), 1]]);
  const first = (await initNoKey(user, order.id)).json.data;
  const alerts = await metric('bazaar_payment_mismatches_total');
  const wrong = intentEvent('payment_intent.succeeded', first, { amount: 1 });
  const res = await deliver(wrong);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.outcome, 'mismatch');
  assert.equal(await metric('bazaar_payment_mismatches_total'), alerts + 1, 'the mismatch is counted (alert)');
  assert.equal(statusOf(order.id), 'PAYMENT_PENDING');
  const eventId = JSON.parse(wrong).id;
  await waitFor('the mismatched charge refunded', () => psql(`SELECT refund_id IS NOT NULL FROM payment_events WHERE event_id = '${eventId}'`) === 't');
  const second = await initNoKey(user, order.id);
  assert.equal(second.status, 201, second.text);
  assert.notEqual(second.json.data.intentId, first.intentId, 'a new intent, not the one that already succeeded');
  // Paying the new one with the right amount completes the order.
  const ok = await deliver(intentEvent('payment_intent.succeeded', second.json.data));
  assert.equal(ok.json.data.status, 'PAID', ok.text);
});

test('a price raised after the cart showed it: 409 PRICE_CHANGED, the cart shows the new price, the next order charges it', async () => {
  const user = await registerUser('price');
  const book = await createBook({ priceCents: 2000 });
  await addToCart(user, book, 1);
  assert.equal((await cartOf(user)).totalCents, 2000);
  const patch = await request('PATCH', `/api/v1/books/${book.id}`, { token: admin.accessToken, body: { priceCents: 5000 } });
  assert.equal(patch.status, 200, patch.text);
  const err = assertError(await checkout(user), 409, 'PRICE_CHANGED');
  assert.deepEqual(err.details, [{ bookId: String(book.id), cartPriceCents: 2000, priceCents: 5000, cartCurrency: 'USD', currency: 'USD' }]);
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${user.user.id}'`), '0');
  assert.equal(stockOf(book.id), 50);
  const cart = await cartOf(user);
  assert.equal(cart.totalCents, 5000, 'the cart now shows what will be charged');
  const res = await checkout(user);
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.data.totalCents, 5000);
});

test('a retry whose first attempt committed (its stored answer lost) gets that order, not OUT_OF_STOCK or a second order', async () => {
  const user = await registerUser('doubt');
  const book = await createBook({ stock: 2 });
  await addToCart(user, book, 2);
  const k = key();
  const first = await checkout(user, k);
  assert.equal(first.status, 201, first.text);
  // What a commit in doubt leaves: the order exists, the key's record does
  // not (taken over and reset), and the cart still holds the lines.
  psql(`DELETE FROM idempotency_keys WHERE user_id = '${user.user.id}'`);
  await addToCart(user, book, 2);  // (no stock left: only the order's own lines)
  const retry = await checkout(user, k);
  assert.equal(retry.status, 201, retry.text);
  assert.equal(retry.json.data.id, first.json.data.id);
  assert.equal(psql(`SELECT count(*) FROM orders WHERE user_id = '${user.user.id}'`), '1');
  assert.equal(stockOf(book.id), 0);
  // ...and that answer is what the key replays from now on.
  const replay = await checkout(user, k);
  assert.equal(replay.headers.get('idempotent-replayed'), 'true');
  assert.equal(replay.json.data.id, first.json.data.id);
});

test('a refund the provider fails after it succeeded: REFUND_FAILED, not REFUNDED', async () => {
  const user = await registerUser('reffail');
  const book = await createBook({ stock: 3 });
  const order = await orderFor(user, [[book, 1]]);
  const init = await initNoKey(user, order.id);
  assert.equal((await post(`/api/v1/orders/${order.id}/cancel`, undefined, { token: user.accessToken })).status, 200);
  assert.equal((await deliver(intentEvent('payment_intent.succeeded', init.json.data))).json.data.status, 'REFUND_PENDING');
  await waitFor('REFUNDED', () => statusOf(order.id) === 'REFUNDED');
  const refundId = psql(`SELECT refund_id FROM orders WHERE id = '${order.id}'`);
  assert.match(refundId, /^re_test_/);
  // Days later the bank bounces it.
  const alerts = await metric('bazaar_refund_failures_total');
  const res = await deliver(refundEvent('refund.failed', refundId, init.json.data.intentId, 'failed'));
  assert.equal(await metric('bazaar_refund_failures_total'), alerts + 1, 'the failure is counted (alert)');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.outcome, 'applied');
  assert.equal(res.json.data.status, 'REFUND_FAILED');
  assert.equal(statusOf(order.id), 'REFUND_FAILED');
  const shown = await get(`/api/v1/orders/${order.id}`, { token: user.accessToken });
  assert.equal(shown.json.data.status, 'REFUND_FAILED');
  // A late "succeeded" for the same refund does not paper over it.
  const late = await deliver(refundEvent('refund.updated', refundId, init.json.data.intentId, 'succeeded'));
  assert.equal(late.json.data.outcome, 'ignored');
  assert.equal(statusOf(order.id), 'REFUND_FAILED');
  // An unknown refund is recorded and ignored.
  const unknown = await deliver(refundEvent('refund.updated', 're_unknown', 'pi_unknown', 'succeeded'));
  assert.equal(unknown.json.data.outcome, 'ignored');
});

test('a refund recorded without its id (the provider said "already refunded") still hears of that refund failing', async () => {
  const user = await registerUser('reffail2');
  const book = await createBook({ stock: 3 });
  const order = await orderFor(user, [[book, 1]]);
  const init = await initNoKey(user, order.id);
  assert.equal((await post(`/api/v1/orders/${order.id}/cancel`, undefined, { token: user.accessToken })).status, 200);
  await deliver(intentEvent('payment_intent.succeeded', init.json.data));
  await waitFor('REFUNDED', () => statusOf(order.id) === 'REFUNDED');
  // What charge_already_refunded leaves: REFUNDED, no refund id known.
  psql(`UPDATE orders SET refund_id = NULL WHERE id = '${order.id}'`);
  // (a refund id of this run's own: the stack may hold earlier runs' orders)
  const res = await deliver(refundEvent('refund.failed', `re_dashboard_${crypto.randomBytes(6).toString('hex')}`, init.json.data.intentId, 'failed'));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.outcome, 'applied', res.text);
  assert.equal(statusOf(order.id), 'REFUND_FAILED');
});

test('the cart\'s clear is committed with the order (a job), and that job clears only the version ordered', async () => {
  const user = await registerUser('clearjob');
  const book = await createBook();
  await addToCart(user, book, 1);
  const version = (await cartOf(user)).version;
  const order = (await checkout(user)).json.data;
  const row = psql(`SELECT payload->'data'->>'userId' || ' ' || (payload->'data'->>'version') FROM outbox WHERE topic = 'job:order-cart' AND payload->'options'->>'jobId' = 'clear-cart:${order.id}'`);
  assert.equal(row, `${user.user.id} ${version}`, 'the clear-cart job is in the outbox with the order');
  // The process "dies" before its own clear: put the ordered cart back at
  // that version, and run the order's job again (a copy under a new id).
  const cartKey = `{u:${user.user.id}}:cart`;
  await waitFor('the job ran', () => redisCli('HGET', cartKey, 'v') !== String(version));
  const line = `1|1250|USD|${JSON.stringify(book.title)}`;
  redisCli('HSET', cartKey, 'v', String(version), `i:${book.id}`, line);
  assert.equal((await cartOf(user)).items.length, 1);
  psql(`INSERT INTO outbox (topic, payload) SELECT topic, jsonb_set(payload, '{options,jobId}', '"clear-cart:again-${order.id}"') FROM outbox WHERE payload->'options'->>'jobId' = 'clear-cart:${order.id}'`);
  psql('NOTIFY bazaar_outbox_jobs');
  await waitFor('the job clears the ordered cart', async () => (await cartOf(user)).items.length === 0);
});

test('a cart rebuilt after its durable copy was purged never counts through a version an order consumed', async () => {
  const user = await registerUser('reborn');
  const book = await createBook();
  const first = await orderFor(user, [[book, 1]]);
  assert.equal(statusOf(first.id), 'PAYMENT_PENDING');
  // What 30 idle days do: the live cart expires and the idle-cart cleanup
  // deletes its durable copy.
  redisCli('DEL', `{u:${user.user.id}}:cart`);
  psql(`DELETE FROM carts WHERE user_id = '${user.user.id}'`);
  const rebuilt = await cartOf(user);
  assert.deepEqual(rebuilt.items, []);
  assert.ok(rebuilt.version >= 1, `version ${rebuilt.version} would count through the ordered one`);
  assert.equal((await addToCart(user, book, 1)).status, 200);
  const res = await checkout(user);
  assert.equal(res.status, 201, res.text);
});

test('an Idempotency-Key reused after its 24 h is a new request: a new order, not the old one replayed', async () => {
  const user = await registerUser('oldkey');
  const book = await createBook();
  const k = key();
  assert.equal((await addToCart(user, book, 1)).status, 200);
  const first = await checkout(user, k);
  assert.equal(first.status, 201, first.text);
  // A day later: the key's record is purged, the order is a day old.
  psql(`DELETE FROM idempotency_keys WHERE user_id = '${user.user.id}'`);
  psql(`UPDATE orders SET created_at = now() - interval '25 hours' WHERE id = '${first.json.data.id}'`);
  assert.equal((await addToCart(user, book, 2)).status, 200);
  const second = await checkout(user, k);
  assert.equal(second.status, 201, second.text);
  assert.notEqual(second.json.data.id, first.json.data.id);
  assert.equal(second.json.data.items[0].quantity, 2);
});

test('free orders count against the per-user limits for the reservation period: a free book cannot be hoarded', async () => {
  const user = await registerUser('freehoard');
  const free = await createBook({ priceCents: 0, stock: 100 });
  const first = await orderFor(user, [[free, 10]]);
  assert.equal(first.status, 'PAID');
  assert.equal((await addToCart(user, free, 1)).status, 200);
  const err = assertError(await checkout(user), 409, 'ORDER_LIMIT');
  assert.ok(err.details.some((d) => d.bookId === String(free.id)), JSON.stringify(err.details));
  assert.equal(stockOf(free.id), 90, 'the refused order took nothing');
});

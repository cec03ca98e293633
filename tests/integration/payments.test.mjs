// Payments (API.md §5) through nginx against the real stack: the whole
// purchase (cart → order → payments/init → a webhook signed by Stripe's own
// Node library → PAID → the fulfillment job → SHIPPED) with the live events
// received by a real WebSocket client; every way a webhook can be wrong;
// replays; cancel racing with payment; a success after expiry both ways
// (stock still there → PAID; stock gone → REFUND_PENDING → the refund job →
// REFUNDED); payments/test/complete; Idempotency-Key on payments/init; the
// admin's status moves; sales stats; Postgres frozen under a webhook.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import Stripe from 'stripe';
import { request, get, post, assertError, waitFor, psql } from '../lib/client.mjs';
import { loginAdmin, registerUser } from '../lib/auth_helpers.mjs';
import { connect, closeAll, NGINX_WS } from '../lib/ws_helpers.mjs';
import { mailsTo } from '../lib/mail.mjs';

// scripts/stack test exports the pair the test stack runs with ("current,previous").
const [SECRET, PREVIOUS_SECRET] = (process.env.WEBHOOK_SECRET || '').split(',');
const stripe = new Stripe('sk_test_not_used_offline');
const VAR = process.env.BAZAAR_VAR_DIR;

let admin;
let seq = 0;
before(async () => {
  assert.ok(SECRET && PREVIOUS_SECRET, 'the test stack exports WEBHOOK_SECRET=current,previous');
  admin = await loginAdmin();
});
after(() => closeAll());

async function createBook(extra = {}) {
  const res = await post('/api/v1/books', { title: `Pay ${Date.now()}-${++seq}`, author: 'P', priceCents: 1250, stock: 10, ...extra },
    { token: admin.accessToken });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

const stockOf = (bookId) => Number(psql(`SELECT stock FROM books WHERE id = ${bookId}`));
const statusOf = (orderId) => psql(`SELECT status FROM orders WHERE id = '${orderId}'`);
const eventRows = () => Number(psql('SELECT count(*) FROM payment_events'));

async function orderFor(user, lines) {
  for (const [book, quantity] of lines) {
    const res = await post('/api/v1/cart/items', { bookId: String(book.id), quantity }, { token: user.accessToken });
    assert.equal(res.status, 200, res.text);
  }
  const res = await post('/api/v1/orders', {}, { token: user.accessToken, headers: { 'Idempotency-Key': crypto.randomUUID() } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.json.data.status, 'PAYMENT_PENDING');
  return res.json.data;
}

const init = (user, orderId, key = crypto.randomUUID()) =>
  post('/api/v1/payments/init', { orderId }, { token: user.accessToken, headers: { 'Idempotency-Key': key } });

async function initIntent(user, order) {
  const res = await init(user, order.id);
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

// A Stripe Event as Stripe sends it (more fields than we read).
function event(type, intent, { amount = intent.amountCents, currency = intent.currency.toLowerCase(), orderId, id } = {}) {
  return JSON.stringify({
    id: id || `evt_${crypto.randomBytes(12).toString('hex')}`,
    object: 'event',
    api_version: '2024-06-20',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    data: { object: { id: intent.intentId, object: 'payment_intent', amount, currency, status: 'succeeded', metadata: orderId ? { orderId } : {} } },
  });
}

const sign = (payload, { secret = SECRET, timestamp } = {}) =>
  stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });

const deliver = (payload, header) =>
  request('POST', '/api/v1/payments/webhook', {
    raw: payload,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...(header !== undefined ? { 'Stripe-Signature': header } : {}) },
  });

test('the whole purchase: order → init → signed webhook → PAID → fulfillment → SHIPPED, live events on a real socket', async () => {
  const user = await registerUser('buyer');
  const book = await createBook({ stock: 5 });
  const ws = await connect(NGINX_WS, { token: user.accessToken });
  const order = await orderFor(user, [[book, 2]]);
  assert.equal(stockOf(book.id), 3);

  const intent = await initIntent(user, order);
  assert.equal(intent.provider, 'test');
  assert.match(intent.intentId, /^pi_test_[0-9a-f]+$/);
  assert.ok(intent.clientSecret.startsWith(`${intent.intentId}_secret_`));
  assert.equal(intent.amountCents, 2500);
  assert.equal(intent.currency, 'USD');
  // a second call returns the same intent
  const again = await initIntent(user, order);
  assert.deepEqual(again, intent);
  const shown = await get(`/api/v1/orders/${order.id}`, { token: user.accessToken });
  assert.deepEqual(shown.json.data.payment, { provider: 'test', intentId: intent.intentId });

  const payload = event('payment_intent.succeeded', intent, { orderId: order.id });
  const res = await deliver(payload, sign(payload));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.outcome, 'applied');
  assert.equal(res.json.data.status, 'PAID');

  const paid = await ws.next((m) => m.event === 'order.paid' && m.data.orderId === order.id, 'order.paid');
  assert.equal(paid.data.status, 'PAID');
  const shipped = await ws.next((m) => m.event === 'order.shipped' && m.data.orderId === order.id, 'order.shipped');
  assert.equal(shipped.data.status, 'SHIPPED');
  // FULFILLING came between them
  const names = ws.events.filter((m) => m.data?.orderId === order.id).map((m) => m.event);
  const [iPaid, iFulfilling, iShipped] = ['order.paid', 'order.fulfilling', 'order.shipped'].map((n) => names.indexOf(n));
  assert.ok(iPaid >= 0 && iPaid < iFulfilling && iFulfilling < iShipped, names.join());
  const final = await get(`/api/v1/orders/${order.id}`, { token: user.accessToken });
  assert.equal(final.json.data.status, 'SHIPPED');
  assert.equal(stockOf(book.id), 3, 'a paid order keeps its stock');
  assert.equal(psql(`SELECT outcome || ':' || order_id FROM payment_events WHERE intent_id = '${intent.intentId}'`), `applied:${order.id}`);

  // The same event again: 200, no second effect, no second event.
  const replay = await deliver(payload, sign(payload));
  assert.equal(replay.status, 200, replay.text);
  assert.equal(replay.json.data.outcome, 'duplicate');
  assert.equal(statusOf(order.id), 'SHIPPED');
  const paidEvents = Number(psql(`SELECT count(*) FROM outbox WHERE topic = 'live' AND payload::text LIKE '%order.paid%' AND payload::text LIKE '%${order.id}%'`));
  assert.equal(paidEvents, 1);
  ws.close();

  // The customer's emails, as the SMTP sink received them: one confirmation
  // and one "shipped", even though the webhook was delivered twice.
  const mailsOf = (template) =>
    mailsTo(user.email).filter((m) => m.header('x-bazaar-job') === `mail:${template}:${order.id}`);
  await waitFor('the confirmation and shipped emails', () =>
    mailsOf('order_confirmation').length === 1 && mailsOf('order_shipped').length === 1);
  const [confirmation] = mailsOf('order_confirmation');
  assert.match(confirmation.text, /25\.00 USD/);
  assert.ok(confirmation.html.includes('25.00 USD'));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(mailsOf('order_confirmation').length, 1, 'a replayed webhook sends no second email');
});

test('webhook signatures: Stripe\'s header is accepted; wrong secret, stale or future t, tampered body, missing or malformed header are 400 and change nothing', async () => {
  const user = await registerUser('sig');
  const book = await createBook();
  const order = await orderFor(user, [[book, 1]]);
  const intent = await initIntent(user, order);
  const payload = event('payment_intent.succeeded', intent, { orderId: order.id });
  const now = Math.floor(Date.now() / 1000);
  const rows = eventRows();

  const refusals = {
    'wrong secret': deliver(payload, sign(payload, { secret: 'whsec_wrong' })),
    'stale t': deliver(payload, sign(payload, { timestamp: now - 360 })),
    'future t': deliver(payload, sign(payload, { timestamp: now + 360 })),
    'tampered body': deliver(payload.replace('"livemode":false', '"livemode":true '), sign(payload)),
    'missing header': deliver(payload, undefined),
    'empty header': deliver(payload, ''),
    'malformed: no v1': deliver(payload, `t=${now}`),
    'malformed: t not a number': deliver(payload, sign(payload).replace(/t=\d+/, 't=abc')),
    'malformed: garbage': deliver(payload, 'garbage'),
    'non-hex v1': deliver(payload, `t=${now},v1=${'z'.repeat(64)}`),
  };
  for (const [what, pending] of Object.entries(refusals)) {
    const res = await pending;
    const err = assertError(res, 400, 'VALIDATION_FAILED');
    assert.equal(err.details[0].field, 'Stripe-Signature', `${what}: ${res.text}`);
  }
  assert.equal(eventRows(), rows, 'a refused webhook records nothing');
  assert.equal(statusOf(order.id), 'PAYMENT_PENDING');

  // Stripe during an endpoint-secret roll: one v1 per secret, one of them ours.
  const t = now;
  const rolled = `t=${t},v1=${crypto.createHmac('sha256', 'whsec_not_ours').update(`${t}.${payload}`).digest('hex')},` +
    `v1=${crypto.createHmac('sha256', SECRET).update(`${t}.${payload}`).digest('hex')}`;
  const ok = await deliver(payload, rolled);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.data.status, 'PAID');

  // Our own rotation: the previous secret still verifies (WEBHOOK_SECRET=new,old).
  const other = await orderFor(user, [[book, 1]]);
  const otherIntent = await initIntent(user, other);
  const failedPayload = event('payment_intent.payment_failed', otherIntent);
  const viaOld = await deliver(failedPayload, sign(failedPayload, { secret: PREVIOUS_SECRET }));
  assert.equal(viaOld.status, 200, viaOld.text);
  assert.equal(viaOld.json.data.status, 'FAILED');
});

test('webhook bodies: not JSON after a valid signature is 400; unknown types and unknown intents are 200 and ignored; a wrong amount moves nothing', async () => {
  const junk = '{"id": "evt_x", "type":';
  assertError(await deliver(junk, sign(junk)), 400, 'MALFORMED_JSON');
  const noId = JSON.stringify({ type: 'payment_intent.succeeded' });
  assertError(await deliver(noId, sign(noId)), 400, 'VALIDATION_FAILED');

  const other = JSON.stringify({ id: `evt_${crypto.randomUUID()}`, type: 'charge.refunded', data: { object: { id: 'ch_1' } } });
  let res = await deliver(other, sign(other));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.outcome, 'ignored');

  const unknown = event('payment_intent.succeeded', { intentId: 'pi_test_unknown', amountCents: 100, currency: 'USD' });
  res = await deliver(unknown, sign(unknown));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.outcome, 'ignored');

  const user = await registerUser('amount');
  const book = await createBook();
  const order = await orderFor(user, [[book, 1]]);
  const intent = await initIntent(user, order);
  const cheap = event('payment_intent.succeeded', intent, { amount: 1 });
  res = await deliver(cheap, sign(cheap));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.outcome, 'mismatch');
  assert.equal(statusOf(order.id), 'PAYMENT_PENDING');
  const euro = event('payment_intent.succeeded', intent, { currency: 'eur' });
  res = await deliver(euro, sign(euro));
  assert.equal(res.json.data.outcome, 'mismatch');
  assert.equal(statusOf(order.id), 'PAYMENT_PENDING');
  // Both charges went through at the provider: each is refunded once, by
  // its own job, and the order stays payable.
  for (const body of [cheap, euro]) {
    const id = JSON.parse(body).id;
    await waitFor(`refund of ${id}`, () => psql(`SELECT COALESCE(refund_id, '') FROM payment_events WHERE event_id = '${id}'`).startsWith('re_test_'), 30000);
  }
  res = await deliver(cheap, sign(cheap));
  assert.equal(res.json.data.outcome, 'duplicate');
  assert.equal(statusOf(order.id), 'PAYMENT_PENDING');
});

test('payments/init: only the owner, only PAYMENT_PENDING, input checked; Idempotency-Key replays the same bytes', async () => {
  const user = await registerUser('init');
  const stranger = await registerUser('stranger');
  const book = await createBook();
  const order = await orderFor(user, [[book, 1]]);

  assertError(await init(stranger, order.id), 404, 'NOT_FOUND');
  assertError(await init(user, crypto.randomUUID()), 404, 'NOT_FOUND');
  assertError(await init(user, 'not-a-uuid'), 404, 'NOT_FOUND');
  assertError(await post('/api/v1/payments/init', { orderId: 5 }, { token: user.accessToken, headers: { 'Idempotency-Key': 'k-type' } }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/payments/init', { orderId: order.id, extra: 1 }, { token: user.accessToken, headers: { 'Idempotency-Key': 'k-extra' } }), 400, 'VALIDATION_FAILED');
  // Idempotency-Key is accepted but not required (API.md §5: init is idempotent per order).
  const keyless = await post('/api/v1/payments/init', { orderId: order.id }, { token: user.accessToken });
  assert.equal(keyless.status, 201, keyless.text);
  assertError(await post('/api/v1/payments/init', { orderId: order.id }, { token: user.accessToken, headers: { 'Idempotency-Key': '' } }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/payments/init', { orderId: order.id }, { headers: { 'Idempotency-Key': 'k-anon' } }), 401, 'UNAUTHENTICATED');

  const key = crypto.randomUUID();
  const first = await init(user, order.id, key);
  assert.equal(first.status, 201, first.text);
  assert.deepEqual(first.json.data, keyless.json.data, 'the same intent, key or not');
  const second = await init(user, order.id, key);
  assert.equal(second.status, 201);
  assert.equal(second.text, first.text, 'replayed byte for byte');
  assert.equal(second.headers.get('idempotent-replayed'), 'true');
  assertError(await post('/api/v1/payments/init', { orderId: crypto.randomUUID() }, { token: user.accessToken, headers: { 'Idempotency-Key': key } }), 422, 'IDEMPOTENCY_KEY_REUSED');

  const cancelled = await orderFor(user, [[book, 1]]);
  const c = await post(`/api/v1/orders/${cancelled.id}/cancel`, {}, { token: user.accessToken });
  assert.equal(c.status, 200, c.text);
  assertError(await init(user, cancelled.id), 409, 'INVALID_TRANSITION');
  // an order that has its intent but is no longer waiting for payment: 409 as well
  const c2 = await post(`/api/v1/orders/${order.id}/cancel`, {}, { token: user.accessToken });
  assert.equal(c2.status, 200, c2.text);
  assertError(await init(user, order.id), 409, 'INVALID_TRANSITION');
});

test('payments/test/complete: succeeded and failed (stock released); someone else\'s intent is 404; bad outcome is 400', async () => {
  const user = await registerUser('complete');
  const stranger = await registerUser('complete-other');
  const book = await createBook({ stock: 4 });
  const order = await orderFor(user, [[book, 3]]);
  const intent = await initIntent(user, order);
  assert.equal(stockOf(book.id), 1);

  assertError(await post('/api/v1/payments/test/complete', { intentId: intent.intentId, outcome: 'succeeded' }, { token: stranger.accessToken }), 404, 'NOT_FOUND');
  assertError(await post('/api/v1/payments/test/complete', { intentId: intent.intentId, outcome: 'maybe' }, { token: user.accessToken }), 400, 'VALIDATION_FAILED');
  assertError(await post('/api/v1/payments/test/complete', { intentId: intent.intentId, outcome: 'failed' }), 401, 'UNAUTHENTICATED');

  const res = await post('/api/v1/payments/test/complete', { intentId: intent.intentId, outcome: 'failed' }, { token: user.accessToken });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.status, 'FAILED');
  assert.equal(stockOf(book.id), 4, 'a failed payment gives the stock back');

  const order2 = await orderFor(user, [[book, 1]]);
  const intent2 = await initIntent(user, order2);
  const ok = await post('/api/v1/payments/test/complete', { intentId: intent2.intentId, outcome: 'succeeded' }, { token: user.accessToken });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.data.status, 'PAID');
  await waitFor('SHIPPED', () => statusOf(order2.id) === 'SHIPPED');
});

test('cancel racing with payment: exactly one wins, and stock matches the winner', async () => {
  const user = await registerUser('race');
  for (let i = 0; i < 6; i++) {
    const book = await createBook({ stock: 3 });
    const order = await orderFor(user, [[book, 2]]);
    const intent = await initIntent(user, order);
    const payload = event('payment_intent.succeeded', intent, { orderId: order.id });
    const [cancel, hook] = await Promise.all([
      post(`/api/v1/orders/${order.id}/cancel`, {}, { token: user.accessToken }),
      deliver(payload, sign(payload)),
    ]);
    assert.equal(hook.status, 200, hook.text);
    if (cancel.status === 200) {
      // cancelled first: the payment that came after is given back
      assert.equal(hook.json.data.status, 'REFUND_PENDING', hook.text);
      await waitFor('REFUNDED', () => statusOf(order.id) === 'REFUNDED');
      assert.equal(stockOf(book.id), 3, 'a cancelled order holds no stock');
    } else {
      assertError(cancel, 409, 'INVALID_TRANSITION');
      assert.equal(hook.json.data.status, 'PAID');
      await waitFor('SHIPPED', () => statusOf(order.id) === 'SHIPPED');
      assert.equal(stockOf(book.id), 1, 'a paid order keeps its stock');
    }
    assert.equal(Number(psql(`SELECT stock_released::int FROM orders WHERE id = '${order.id}'`)), cancel.status === 200 ? 1 : 0);
  }
});

test('a success after expiry: stock still there → PAID; stock gone → REFUND_PENDING → refund job → REFUNDED', async () => {
  const user = await registerUser('late');
  const rival = await registerUser('rival');
  // Expiry is the worker's (an admin cannot set EXPIRED): make the order
  // overdue and let the sweep expire it.
  const expire = async (orderId) => {
    psql(`UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = '${orderId}'`);
    await waitFor('EXPIRED by the sweep', () => statusOf(orderId) === 'EXPIRED');
  };

  // 1. expired, nobody took the stock: it is reserved again and the order is paid
  const book = await createBook({ stock: 2 });
  const order = await orderFor(user, [[book, 2]]);
  const intent = await initIntent(user, order);
  await expire(order.id);
  assert.equal(stockOf(book.id), 2, 'expiry gives the stock back');
  const payload = event('payment_intent.succeeded', intent, { orderId: order.id });
  let res = await deliver(payload, sign(payload));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.status, 'PAID');
  assert.equal(stockOf(book.id), 0, 'stock taken again');
  await waitFor('SHIPPED', () => statusOf(order.id) === 'SHIPPED');

  // 2. expired, then the stock was sold to someone else: refund
  const scarce = await createBook({ stock: 1 });
  const late = await orderFor(user, [[scarce, 1]]);
  const lateIntent = await initIntent(user, late);
  await expire(late.id);
  await orderFor(rival, [[scarce, 1]]);
  assert.equal(stockOf(scarce.id), 0);
  const ws = await connect(NGINX_WS, { token: user.accessToken });
  const latePayload = event('payment_intent.succeeded', lateIntent, { orderId: late.id });
  res = await deliver(latePayload, sign(latePayload));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.status, 'REFUND_PENDING');
  assert.equal(stockOf(scarce.id), 0, 'never oversold');
  await waitFor('REFUNDED', () => statusOf(late.id) === 'REFUNDED');
  assert.match(psql(`SELECT refund_id FROM orders WHERE id = '${late.id}'`), /^re_test_[0-9a-f]+$/);
  await ws.next((m) => m.data?.orderId === late.id && m.data.status === 'REFUNDED', 'the refunded order event');
  ws.close();

  // 3. two lines, only the second (higher id) sold meanwhile: the failed
  //    re-reservation takes nothing, the first book keeps all its stock
  const plenty = await createBook({ stock: 5 });
  const gone = await createBook({ stock: 1 });
  const two = await orderFor(user, [[plenty, 2], [gone, 1]]);
  const twoIntent = await initIntent(user, two);
  await expire(two.id);
  await orderFor(rival, [[gone, 1]]);
  assert.equal(stockOf(plenty.id), 5);
  const twoPayload = event('payment_intent.succeeded', twoIntent, { orderId: two.id });
  res = await deliver(twoPayload, sign(twoPayload));
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.status, 'REFUND_PENDING');
  assert.equal(stockOf(plenty.id), 5, 'nothing half-taken by the failed re-reservation');
  assert.equal(stockOf(gone.id), 0);
  await waitFor('REFUNDED', () => statusOf(two.id) === 'REFUNDED');
});

test('admin status moves: SHIPPED → DELIVERED; anything off the machine is 409; non-admins 403; bad status 400', async () => {
  const user = await registerUser('deliver');
  const book = await createBook();
  const order = await orderFor(user, [[book, 1]]);
  const intent = await initIntent(user, order);
  const payload = event('payment_intent.succeeded', intent);
  assert.equal((await deliver(payload, sign(payload))).status, 200);
  await waitFor('SHIPPED', () => statusOf(order.id) === 'SHIPPED');
  const patch = (body, token = admin.accessToken, id = order.id) =>
    request('PATCH', `/api/v1/admin/orders/${id}/status`, { body, token });

  assertError(await patch({ status: 'DELIVERED' }, user.accessToken), 403, 'FORBIDDEN');
  assertError(await patch({ status: 'delivered' }), 400, 'VALIDATION_FAILED');
  assertError(await patch({ status: 7 }), 400, 'VALIDATION_FAILED');
  assertError(await patch({ status: 'DELIVERED' }, admin.accessToken, crypto.randomUUID()), 404, 'NOT_FOUND');
  assertError(await patch({ status: 'PAID' }), 409, 'INVALID_TRANSITION');
  const res = await patch({ status: 'DELIVERED' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.status, 'DELIVERED');
  assertError(await patch({ status: 'SHIPPED' }), 409, 'INVALID_TRANSITION');
  assert.equal(statusOf(order.id), 'DELIVERED');
});

test('sales stats: per tag, counting only paid orders, at the price paid', async () => {
  const tag = `sales-${Date.now()}`;
  const a = await createBook({ tags: [tag], priceCents: 1000, stock: 20 });
  const b = await createBook({ tags: [tag], priceCents: 3000, stock: 20 });
  const user = await registerUser('sales');
  const paidOrder = await orderFor(user, [[a, 2], [b, 1]]);
  const paidIntent = await initIntent(user, paidOrder);
  const payload = event('payment_intent.succeeded', paidIntent);
  assert.equal((await deliver(payload, sign(payload))).status, 200);
  await orderFor(user, [[a, 5]]);  // unpaid: not counted
  // the price changes after the sale: revenue stays what was paid
  const upd = await request('PATCH', `/api/v1/books/${a.id}`, { body: { priceCents: 2000 }, token: admin.accessToken });
  assert.equal(upd.status, 200, upd.text);

  assertError(await get('/api/v1/admin/stats/sales', { token: user.accessToken }), 403, 'FORBIDDEN');
  const res = await get('/api/v1/admin/stats/sales', { token: admin.accessToken });
  assert.equal(res.status, 200, res.text);
  const row = res.json.data.find((r) => r.tag === tag);
  assert.deepEqual(row, { tag, books: 2, avgPriceCents: 2500, unitsSold: 3, revenueCents: 5000 });
  for (const r of res.json.data) {
    assert.equal(typeof r.books, 'number');
    assert.ok(r.unitsSold >= 0 && r.revenueCents >= 0);
  }
});

test('Postgres frozen: the webhook answers 503 (the provider retries) instead of hanging, and the retry applies', async () => {
  const user = await registerUser('frozen');
  const book = await createBook();
  const order = await orderFor(user, [[book, 1]]);
  const intent = await initIntent(user, order);
  const payload = event('payment_intent.succeeded', intent);
  const pidIn = (file) => Number(readFileSync(file, 'utf8').split('\n')[0]);
  const postmaster = pidIn(`${VAR}/postgres/postmaster.pid`);
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(postmaster)], { encoding: 'utf8' })
    .stdout.split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  const frozen = [postmaster, ...children];
  for (const pid of frozen) process.kill(pid, 'SIGSTOP');
  let res;
  try {
    res = await request('POST', '/api/v1/payments/webhook', {
      raw: payload, headers: { 'Content-Type': 'application/json', 'Stripe-Signature': sign(payload) }, timeoutMs: 8000,
    });
  } finally {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
  }
  assertError(res, 503, 'UNAVAILABLE');
  await waitFor('the retried delivery to apply', async () => {
    const again = await deliver(payload, sign(payload));
    return again.status === 200 && (again.json.data.outcome === 'applied' || again.json.data.outcome === 'duplicate');
  });
  await waitFor('SHIPPED', () => statusOf(order.id) === 'SHIPPED');
});

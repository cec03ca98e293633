// Issue 18: a refusing dependency is an outage, never a lost paid order.
//
// Redis refusing writes (maxmemory 1 byte, noeviction: every write answers
// "-OOM command not allowed", also from inside a Lua script) while an order
// is paid through the test provider's signed webhook:
//   - POST /cart/items and POST /auth/login answer 503 UNAVAILABLE with
//     Retry-After, never 500 INTERNAL;
//   - the webhook still answers 200 and the order is PAID (Postgres only);
//   - the relay does not burn the outbox rows' attempts on the outage (it
//     backs off and counts bazaar_outbox_outage_retries_total), and once Redis
//     takes writes again the order reaches SHIPPED and its mails arrive.
// The refusal lasts a few seconds and Redis's settings are restored in
// `finally`, whatever happens.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { request, get, post, assertError, waitFor, psql, redisCli, CLUSTER } from '../lib/client.mjs';
import { loginAdmin, registerUser } from '../lib/auth_helpers.mjs';
import { mailsTo } from '../lib/mail.mjs';

const [SECRET] = (process.env.WEBHOOK_SECRET || '').split(',');

let admin;
before(async () => {
  admin = await loginAdmin();
});

const counter = async (name) => {
  const m = (await get('/metrics')).text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
};

function event(intent, orderId) {
  return JSON.stringify({
    id: `evt_${crypto.randomBytes(12).toString('hex')}`,
    object: 'event',
    type: 'payment_intent.succeeded',
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: intent.intentId, object: 'payment_intent', amount: intent.amountCents,
      currency: intent.currency.toLowerCase(), status: 'succeeded', metadata: { orderId } } },
  });
}

// Stripe's signature scheme: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>").
function sign(payload) {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${crypto.createHmac('sha256', SECRET).update(`${t}.${payload}`).digest('hex')}`;
}

const deliver = (payload) =>
  request('POST', '/api/v1/payments/webhook', {
    raw: payload,
    headers: { 'Content-Type': 'application/json', 'Stripe-Signature': sign(payload) },
  });

// The job rows the payment wrote for this order (fulfillment; its mails come later from the jobs).
const outboxRows = (orderId, after) =>
  psql(`SELECT id, attempts, failed_at IS NOT NULL, published_at IS NOT NULL FROM outbox
        WHERE id > ${after} AND topic LIKE 'job:%' AND payload::text LIKE '%${orderId}%' ORDER BY id`)
    .split('\n').filter(Boolean).map((l) => {
      const [id, attempts, failed, published] = l.split('|');
      return { id, attempts: Number(attempts), failed: failed === 't', published: published === 't' };
    });

// Every master refuses writes until restore() (single mode: the one Redis).
function refuseWrites() {
  const saved = {
    maxmemory: redisCli('CONFIG', 'GET', 'maxmemory').split('\n')[1],
    policy: redisCli('CONFIG', 'GET', 'maxmemory-policy').split('\n')[1],
  };
  const restore = () => {
    redisCli('CONFIG', 'SET', 'maxmemory', saved.maxmemory || '0');
    redisCli('CONFIG', 'SET', 'maxmemory-policy', saved.policy || 'noeviction');
  };
  try {
    redisCli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    redisCli('CONFIG', 'SET', 'maxmemory', '1');
  } catch (e) {
    restore();
    throw e;
  }
  return restore;
}

test('Redis refusing writes: cart and login are 503, a paid order still ships and mails, no attempt burnt',
  { skip: CLUSTER && 'CONFIG SET on one node only' }, async () => {
    const user = await registerUser('refusal');
    const created = await post('/api/v1/books', { title: `Refusal ${Date.now()}`, author: 'R', priceCents: 900, stock: 5 },
      { token: admin.accessToken });
    assert.equal(created.status, 201, created.text);
    const book = created.json.data;
    assert.equal((await post('/api/v1/cart/items', { bookId: String(book.id), quantity: 1 }, { token: user.accessToken })).status, 200);
    const ordered = await post('/api/v1/orders', {}, { token: user.accessToken, headers: { 'Idempotency-Key': crypto.randomUUID() } });
    assert.equal(ordered.status, 201, ordered.text);
    const order = ordered.json.data;
    const init = await post('/api/v1/payments/init', { orderId: order.id },
      { token: user.accessToken, headers: { 'Idempotency-Key': crypto.randomUUID() } });
    assert.equal(init.status, 201, init.text);
    const retriesBefore = await counter('bazaar_outbox_outage_retries_total');
    const lastRow = Number(psql('SELECT COALESCE(max(id), 0) FROM outbox'));

    const restore = refuseWrites();
    try {
      assert.match(redisCli('SET', 'refusal:probe', 'x'), /OOM/, 'Redis still takes writes: the test proves nothing');

      const cart = await post('/api/v1/cart/items', { bookId: String(book.id), quantity: 1 }, { token: user.accessToken });
      assertError(cart, 503, 'UNAVAILABLE');
      assert.ok(cart.headers.get('retry-after'), 'a 503 says when to retry');
      const login = await post('/api/v1/auth/login', { email: user.email, password: user.password });
      assertError(login, 503, 'UNAVAILABLE');
      assert.ok(login.headers.get('retry-after'), 'a 503 says when to retry');

      const paid = await deliver(event(init.json.data, order.id));
      assert.equal(paid.status, 200, paid.text);
      assert.equal(paid.json.data.status, 'PAID');

      // The relay meets the refusal: its rows wait, their attempts untouched.
      await waitFor('the relay to meet the refusal', async () =>
        outboxRows(order.id, lastRow).some((r) => r.attempts > 0 || r.failed) ||
        (await counter('bazaar_outbox_outage_retries_total')) >= retriesBefore + 3, 10000);
      const rows = outboxRows(order.id, lastRow);
      assert.ok(rows.length >= 1, 'the payment wrote no outbox job');
      for (const r of rows) {
        assert.equal(r.attempts, 0, `outbox row ${r.id}: an outage burnt an attempt`);
        assert.equal(r.failed, false, `outbox row ${r.id} was set aside for an outage`);
        assert.equal(r.published, false, `outbox row ${r.id} published while Redis refused writes`);
      }
    } finally {
      restore();
    }

    await waitFor('the order to ship', () => psql(`SELECT status FROM orders WHERE id = '${order.id}'`) === 'SHIPPED', 30000);
    const mails = (template) => mailsTo(user.email).filter((m) => m.header('x-bazaar-job') === `mail:${template}:${order.id}`);
    await waitFor('the confirmation and shipped mails', () =>
      mails('order_confirmation').length === 1 && mails('order_shipped').length === 1, 30000);
    for (const r of outboxRows(order.id, lastRow)) {
      assert.equal(r.published, true, `outbox row ${r.id} never published`);
      assert.equal(r.attempts, 0);
    }
    // Nothing of this order was set aside, and the outage was counted.
    assert.ok((await counter('bazaar_outbox_outage_retries_total')) > retriesBefore);
  });

// Cluster pass only (cluster.cluster.checkout_failover): the store on a local
// 3-master + 3-replica Redis Cluster (scripts/stack, REDIS_MODE=cluster), and
// the master that owns the stock counters' slot ({stock}) killed with -9 in
// the middle of 500 concurrent checkouts of a book of 100. A replica is
// promoted (cluster-node-timeout 2 s on the test stack) and the requests
// recover without restarting any bazaar process. Postgres is the record, so
// whatever the killed master had not yet replicated (a reservation, a hold)
// can cost a retry or a transient OUT_OF_STOCK, never an oversell or an order.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { request, post, svc, waitFor, redisCli, psql, redisMasterOf, redisClusterNodes, CLUSTER } from '../lib/client.mjs';
import { loginAdmin, signJwt } from '../lib/auth_helpers.mjs';
import { waitCartsPersisted } from '../lib/cart_persist.mjs';

const RUN = path.join(process.env.BAZAAR_VAR_DIR || 'var/test-cluster', 'run');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let killedPort = null;
after(() => { if (killedPort) try { svc('start', 'redis-node', killedPort); } catch { /* reported by the test */ } });

const key = () => `k-${randomUUID()}`;
const checkout = (token, k) => request('POST', '/api/v1/orders', { token, headers: { 'Idempotency-Key': k }, timeoutMs: 60000 });
const pgStock = (bookId) => Number(psql(`SELECT stock FROM books WHERE id = ${bookId}`));

// Every bazaar process: name -> pid (the supervisor restarts a dead one under
// the same name with a new pid).
function bazaarPids() {
  const pids = {};
  for (const f of fs.readdirSync(RUN)) {
    if (/^(fcgi|worker|ws)-\d+\.pid$/.test(f)) pids[f] = fs.readFileSync(path.join(RUN, f), 'utf8').trim();
  }
  return pids;
}

function makeUsers(n) {
  const ids = Array.from({ length: n }, () => randomUUID());
  const hash = '$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g';
  psql(`INSERT INTO users (id, email, username, password_hash) SELECT u::uuid, 'f-' || u || '@example.com', 'buyer', '${hash}' FROM unnest(ARRAY['${ids.join("','")}']) u`);
  const now = Math.floor(Date.now() / 1000);
  return ids.map((id) => ({ id, token: signJwt({ sub: id, role: 'user', iat: now - 1, exp: now + 3600 }) }));
}

test('a master killed -9 during 500 checkouts: a replica takes over, no oversell, every 201 is an order', async () => {
  assert.ok(CLUSTER, 'runs in the cluster pass only (REDIS_CLUSTER)');
  const admin = await loginAdmin();
  const created = await post('/api/v1/books', { title: `Failover ${Date.now()}`, author: 'F', priceCents: 1250, stock: 100 }, { token: admin.accessToken });
  assert.equal(created.status, 201, created.text);
  const book = created.json.data;
  const users = makeUsers(500);
  for (let i = 0; i < users.length; i += 50) {
    await Promise.all(users.slice(i, i + 50).map(async (u) => {
      const r = await post('/api/v1/cart/items', { bookId: String(book.id), quantity: 1 }, { token: u.token, timeoutMs: 60000 });
      assert.equal(r.status, 200, r.text);
    }));
  }
  await waitCartsPersisted(book.id, users.map((u) => u.id));

  const before = bazaarPids();
  assert.ok(Object.keys(before).length >= 3, JSON.stringify(before));
  const stockKey = `{stock}:b:${book.id}`;
  const doomed = redisMasterOf(stockKey);
  const replicas = redisClusterNodes().filter((n) => n.master === doomed.id).map((n) => n.addr);
  assert.ok(replicas.length >= 1, `master ${doomed.addr} has no replica`);

  // Every buyer retries (same Idempotency-Key) until 201 or OUT_OF_STOCK.
  const statuses = new Map();
  const orderIds = new Map();
  const keys = new Map(users.map((u) => [u.id, key()]));
  const buy = async (u) => {
    for (let attempt = 0; attempt < 200; attempt++) {
      const r = await checkout(u.token, keys.get(u.id)).catch(() => ({ status: 0 }));
      if (r.status === 201) { statuses.set(u.id, 201); orderIds.set(u.id, r.json.data.id); return; }
      if (r.status === 409 && r.json?.error?.code === 'OUT_OF_STOCK') { statuses.set(u.id, 409); return; }
      if (r.status === 400 && r.json?.error?.code === 'VALIDATION_FAILED') { statuses.set(u.id, 400); return; }
      await sleep(200);
    }
    statuses.set(u.id, -1);
  };
  let promoted = null;
  const failover = async () => {
    await sleep(300);
    killedPort = doomed.port;
    svc('kill', 'redis-node', doomed.port);
    await waitFor('a replica promoted for the stock slot', () => {
      const m = redisMasterOf(stockKey);
      if (m.port !== doomed.port) promoted = m;
      return promoted !== null;
    }, 60000);
  };
  await Promise.all([Promise.all(users.map(buy)), failover()]);
  assert.ok(promoted && replicas.includes(promoted.addr), `the slot moved to ${promoted?.addr}, not a replica of ${doomed.addr}`);
  assert.equal([...statuses.values()].filter((s) => s === -1).length, 0, 'every buyer got an answer');

  // Holds of checkouts the failover interrupted keep their stock until they
  // are aborted or swept; then those refused buy the rest.
  await waitFor('every hold settled', () => Number(redisCli('ZCARD', '{stock}:holds')) === 0, 60000);
  const refused = users.filter((u) => statuses.get(u.id) === 409);
  for (const u of refused) keys.set(u.id, key());
  await Promise.all(refused.map(buy));

  // No oversell: exactly the stock sold, Postgres never negative, one order per buyer.
  const sold = Number(psql(`SELECT COALESCE(sum(i.quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE i.book_id = ${book.id} AND NOT o.stock_released`));
  assert.equal(Number(psql(`SELECT count(*) FROM order_items WHERE book_id = ${book.id}`)), 100, 'exactly the stock was sold');
  assert.equal(sold, 100);
  assert.equal(pgStock(book.id), 0);
  assert.equal(psql(`SELECT count(*) FROM (SELECT o.user_id FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.book_id = ${book.id} GROUP BY o.user_id HAVING count(*) > 1) x`), '0');
  // No lost order: every 201 the buyers saw is a row of Postgres, theirs.
  assert.equal(orderIds.size, 100);
  for (const [userId, orderId] of orderIds) {
    assert.equal(psql(`SELECT user_id FROM orders WHERE id = '${orderId}'`), userId, `order ${orderId} of a 201 is missing`);
  }
  // Redis agrees with Postgres again (the counter rebuilt or still right).
  await waitFor('the stock counter agrees with Postgres', () => {
    const a = redisCli('HGET', stockKey, 'a');
    return a === '' || Number(a) === pgStock(book.id);
  }, 30000);

  // Recovered without restarting any bazaar process.
  assert.deepEqual(bazaarPids(), before, 'a bazaar process was restarted');
  const health = await request('GET', '/api/v1/health');
  assert.equal(health.status, 200, health.text);

  // The killed node rejoins as a replica of the promoted one.
  svc('start', 'redis-node', doomed.port);
  killedPort = null;
  await waitFor('the old master back as a replica', () => {
    const n = redisClusterNodes().find((x) => x.addr === doomed.addr);
    return n && n.role === 'replica' && !n.fail && n.master === promoted.id;
  }, 60000);
});

// Cluster pass only (cluster.cluster.reshard): `redis-cli --cluster reshard`
// moves 300 slots, with the carts of 60 users in them, from one master to
// another while those users keep changing their carts. Keys in migration
// answer ASK, moved slots MOVED; the store's Redis layer follows both. The
// only errors allowed are retried ones (503): every user's last change is in
// their cart at the end, and the slots did move.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { get, post, psql, keySlot, redisClusterNodes, CLUSTER } from '../lib/client.mjs';
import { loginAdmin, signJwt } from '../lib/auth_helpers.mjs';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('resharding 300 slots under cart writes: no errors beyond retries, no lost change', async () => {
  assert.ok(CLUSTER, 'runs in the cluster pass only (REDIS_CLUSTER)');
  const masters = redisClusterNodes().filter((n) => n.role === 'master' && !n.fail && n.slots.length);
  assert.ok(masters.length >= 2);
  const [from, to] = masters;
  const [first] = from.slots[0];
  const moved = (slot) => slot >= first && slot < first + 300;
  assert.ok(from.slots[0][1] >= first + 299, `the first range of ${from.addr} is too short`);

  // 60 users whose {u:<id>} slot is among the 300 moved, 20 elsewhere.
  const ids = [];
  let others = 0;
  while (ids.length < 80) {
    const id = randomUUID();
    const inMoved = moved(keySlot(`{u:${id}}`));
    if (inMoved && ids.length - others < 60) ids.push(id);
    else if (!inMoved && others < 20) { ids.push(id); others++; }
  }
  const hash = '$argon2id$v=19$m=65536,t=3,p=1$c29tZXNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2g';
  psql(`INSERT INTO users (id, email, username, password_hash) SELECT u::uuid, 'r-' || u || '@example.com', 'resharder', '${hash}' FROM unnest(ARRAY['${ids.join("','")}']) u`);
  const now = Math.floor(Date.now() / 1000);
  const users = ids.map((id) => ({ id, token: signJwt({ sub: id, role: 'user', iat: now - 1, exp: now + 3600 }) }));
  const admin = await loginAdmin();
  const book = (await post('/api/v1/books', { title: `Reshard ${Date.now()}`, author: 'R', priceCents: 500, stock: 1000 }, { token: admin.accessToken })).json.data;

  let stop = false;
  let changes = 0;
  let retried = 0;
  const last = new Map();
  const write = async (u, q) => {
    for (let attempt = 0; ; attempt++) {
      const r = await post('/api/v1/cart/items', { bookId: String(book.id), quantity: q }, { token: u.token, timeoutMs: 30000 }).catch((e) => ({ status: 0, text: e.message }));
      if (r.status === 200) break;
      assert.ok(r.status === 503 && attempt < 50, `cart write: ${r.status} ${r.text}`);
      retried++;
      await sleep(100);
    }
    last.set(u.id, q);
    changes++;
  };
  // Each user sets quantities 1, 2, ..., 10, 1, ... until the reshard is
  // done, then once more.
  const writer = async (u) => {
    let q = 0;
    while (!stop) { q = (q % 10) + 1; await write(u, q); }
    await write(u, (q % 10) + 1);
  };
  const writers = Promise.all(users.map(writer));
  await sleep(500);
  await run('redis-cli', ['--cluster', 'reshard', from.addr, '--cluster-from', from.id, '--cluster-to', to.id,
    '--cluster-slots', '300', '--cluster-yes', '--cluster-pipeline', '10'], { maxBuffer: 64 << 20 });
  stop = true;
  await writers;

  // The slots moved.
  const now2 = redisClusterNodes();
  const owner = (slot) => now2.find((n) => n.role === 'master' && n.slots.some(([a, b]) => slot >= a && slot <= b));
  assert.equal(owner(first).id, to.id);
  assert.equal(owner(first + 299).id, to.id);
  // Every user's last change is in their cart.
  for (const u of users) {
    const res = await get('/api/v1/cart', { token: u.token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.data.items.map((i) => [i.bookId, i.quantity]), [[String(book.id), last.get(u.id)]], u.id);
  }
  console.log(`[reshard] ${changes} cart changes, ${retried} retried 503s`);
});

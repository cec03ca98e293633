// Several hosts (scripts/netns): one fcgi host is cut from Redis while
// requests flow. Its Redis-backed requests answer 503 UNAVAILABLE (never
// hang: the Redis timeout bounds them), the other fcgi host keeps serving,
// nginx passes both answers on (no retry: see docs/several-hosts.md), and
// once the link is back the host serves again without a restart.
//
// Runs on the front host of a running `scripts/netns` stack (scripts/netns
// test does that): NETNS_FCGI_ADDRS lists the fcgi hosts as host:port.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { FcgiConnection } from '../lib/fcgi_client.mjs';
import { get, post, assertError, waitFor } from '../lib/client.mjs';
import { registerUser, loginAdmin } from '../lib/auth_helpers.mjs';

const ROOT = process.env.BAZAAR_ROOT || process.cwd();
const VAR = process.env.BAZAAR_VAR_DIR;
const HOSTS = (process.env.NETNS_FCGI_ADDRS || '').split(',').filter(Boolean).map((a) => {
  const [host, port] = a.split(':');
  return { host, port: Number(port) };
});
// Long enough for any Redis timeout of the test stack; a hang fails the test.
const NO_HANG_MS = 20000;

const netns = (...args) => execFileSync(`${ROOT}/scripts/netns`, args, { stdio: 'inherit', env: process.env });
let cut = false;
after(() => { if (cut) netns('heal', 'f1'); });

// One request straight to one fcgi host, as nginx would send it.
async function direct(i, method, uri, { token, body } = {}) {
  const conn = await FcgiConnection.open(HOSTS[i]);
  try {
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    return await conn.request({ method, uri, headers, body: body ? JSON.stringify(body) : '' }, NO_HANG_MS);
  } finally {
    conn.close();
  }
}

function assertUnavailable(res) {
  assert.equal(res.status, 503, res.body);
  assert.equal(res.json?.success, false, res.body);
  assert.equal(res.json.error.code, 'UNAVAILABLE', res.body);
}

const pidOf = (name) => readFileSync(`${VAR}/run/${name}.pid`, 'utf8').trim();

test('an fcgi host cut from Redis answers 503, the other serves, and it recovers without a restart', async (t) => {
  assert.equal(HOSTS.length, 2, 'NETNS_FCGI_ADDRS must list the two fcgi hosts');
  const admin = await loginAdmin();
  const book = await post('/api/v1/books', { title: `Partition ${Date.now()}`, author: 'N', priceCents: 300, stock: 100 },
    { token: admin.accessToken });
  assert.equal(book.status, 201, book.text);
  const user = await registerUser('part');
  const token = user.accessToken;
  const item = { bookId: book.json.data.id, quantity: 1 };

  for (const i of [0, 1]) {
    const res = await direct(i, 'GET', '/api/v1/cart', { token });
    assert.equal(res.status, 200, `host ${i} before the partition: ${res.body}`);
  }
  const pids = [pidOf('fcgi-0'), pidOf('fcgi-1')];

  netns('partition', 'f1');
  cut = true;

  // The cut host: Redis-backed reads and writes fail fast and cleanly.
  for (let k = 0; k < 3; ++k) {
    const started = Date.now();
    assertUnavailable(await direct(0, 'GET', '/api/v1/cart', { token }));
    assertUnavailable(await direct(0, 'POST', '/api/v1/cart/items', { token, body: item }));
    t.diagnostic(`cut host answered 503 after ${Date.now() - started} ms (two requests)`);
  }
  // The other host serves, reads and writes.
  const write = await direct(1, 'POST', '/api/v1/cart/items', { token, body: { ...item, quantity: 2 } });
  assert.equal(write.status, 200, write.body);
  const read = await direct(1, 'GET', '/api/v1/cart', { token });
  assert.equal(read.status, 200, read.body);
  assert.equal(read.json.data.items.find((x) => String(x.bookId) === String(item.bookId))?.quantity, 2, read.body);

  // Through nginx: every request is answered (round robin over both hosts),
  // the cut host's share as 503 in the API's error shape.
  const seen = { 200: 0, 503: 0 };
  const results = await Promise.all(Array.from({ length: 20 }, () => get('/api/v1/cart', { token, timeoutMs: NO_HANG_MS })));
  for (const res of results) {
    if (res.status === 503) assertError(res, 503, 'UNAVAILABLE');
    else assert.equal(res.status, 200, res.text);
    seen[res.status] += 1;
  }
  assert.ok(seen[200] > 0 && seen[503] > 0, `both hosts answer through nginx: ${JSON.stringify(seen)}`);

  netns('heal', 'f1');
  cut = false;

  // Recovery without a restart: the same process serves again.
  await waitFor('the healed host to serve the cart', async () => (await direct(0, 'GET', '/api/v1/cart', { token })).status === 200, 30000);
  const again = await direct(0, 'POST', '/api/v1/cart/items', { token, body: { ...item, quantity: 3 } });
  assert.equal(again.status, 200, again.body);
  const through = await Promise.all(Array.from({ length: 20 }, () => get('/api/v1/cart', { token, timeoutMs: NO_HANG_MS })));
  for (const res of through) {
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.data.items.find((x) => String(x.bookId) === String(item.bookId))?.quantity, 3, res.text);
  }
  assert.deepEqual([pidOf('fcgi-0'), pidOf('fcgi-1')], pids, 'no fcgi process was restarted');
});

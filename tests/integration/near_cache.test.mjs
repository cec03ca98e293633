// Issue 12, the near cache (docs/catalog-auth-cache.md "Near cache"): read-your-writes across
// fcgi processes with each process answering hits from its own memory.
//
// The tests talk FastCGI to each process's unix socket directly
// (tests/lib/fcgi_client.mjs), so they choose which process writes and which
// reads, instead of hoping nginx spreads them. Nothing rests on luck: before
// every write the reading process is driven until it answers the book from
// its near cache (X-Cache-Layer: near), so the read after the write would
// serve the old body if coherence were broken.
//
// - 2,000 writes alternating between the processes, background readers on
//   both sockets re-filling near entries during the writes: zero stale reads.
// - The invalidation connections killed (CLIENT KILL ID) mid-run: still zero
//   stale reads, and near hits come back after they reconnect (/metrics).
// - Redis frozen (SIGSTOP): no near hit is served once the listener's PING
//   is overdue (reads fall back to Postgres, X-Cache: BYPASS), a write
//   answers 503 and changes nothing; after SIGCONT near hits resume.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get, post, waitFor, redisCli } from '../lib/client.mjs';
import { loginAdmin } from '../lib/auth_helpers.mjs';
import { FcgiConnection } from '../lib/fcgi_client.mjs';

const VAR = process.env.BAZAAR_VAR_DIR;
const SOCKETS = [`${VAR}/run/fcgi-0.sock`, `${VAR}/run/fcgi-1.sock`];
const HANG_MS = 5000;

let admin;
let conns;  // conns[p]: the test's own connection to process p
const opened = [];

async function open(p) {
  const c = await FcgiConnection.open(SOCKETS[p]);
  opened.push(c);
  return c;
}

before(async () => {
  admin = await loginAdmin();
  conns = [await open(0), await open(1)];
});

after(() => { for (const c of opened) c.close(); });

async function metric(name) {
  const text = (await get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} missing from /metrics`);
  return Number(line.split(' ')[1]);
}

async function createBook(title) {
  const res = await post('/api/v1/books', { title, author: 'Near', priceCents: 100, stock: 5 }, { token: admin.accessToken });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

// Reads through process p until the answer comes from its near cache; the
// body must then show `title`. A miss and a Redis hit come first after any
// invalidation (the near cache only keeps what Redis already held).
async function readUntilNear(p, id, title, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await conns[p].request({ method: 'GET', uri: `/api/v1/books/${id}` });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.data.title, title, `process ${p} served a stale title`);
    if (res.headers['x-cache-layer'] === 'near') {
      assert.equal(res.headers['x-cache'], 'HIT');
      return;
    }
    if (Date.now() > deadline) assert.fail(`process ${p} never answered book ${id} from its near cache`);
  }
}

// Loops reading `id` through their own connections to both processes.
async function backgroundReaders(id, perProcess = 2) {
  const cs = [];
  for (let p = 0; p < 2; p++) for (let i = 0; i < perProcess; i++) cs.push(await open(p));
  let running = true;
  let reads = 0;
  const loops = cs.map(async (c) => {
    while (running) {
      const res = await c.request({ method: 'GET', uri: `/api/v1/books/${id}` });
      assert.equal(res.status, 200, res.text);
      reads++;
    }
  });
  return async () => { running = false; await Promise.all(loops); return reads; };
}

// The listeners: subscribed connections with broadcast tracking on.
function listenerIds() {
  return redisCli('CLIENT', 'LIST', 'TYPE', 'pubsub').split('\n')
    .filter((l) => /\bflags=\S*B/.test(l) && /\bsub=1\b/.test(l))
    .map((l) => /\bid=(\d+)/.exec(l)[1]);
}

// One write through process w, then the read through the other one.
async function writeThenRead(id, i, onStale) {
  const w = i % 2;
  const r = 1 - w;
  const title = `near-${id}-${i}`;
  const res = await conns[w].request({ method: 'PATCH', uri: `/api/v1/books/${id}`, body: { title }, token: admin.accessToken });
  assert.equal(res.status, 200, res.text);
  const read = await conns[r].request({ method: 'GET', uri: `/api/v1/books/${id}` });
  assert.equal(read.status, 200, read.text);
  if (read.json.data.title !== title) onStale(i, read);
  return title;
}

test('both fcgi processes track invalidations, and the near cache answers warm reads', async () => {
  await waitFor('two listeners subscribed', async () => {
    // A process starts its listener on its first cached read.
    for (const c of conns) await c.request({ method: 'GET', uri: '/api/v1/tags' });
    return listenerIds().length >= 2;
  });
  const book = await createBook(`near-first-${Date.now()}`);
  const before = await metric('bazaar_cache_near_hits_total');
  for (const p of [0, 1]) await readUntilNear(p, book.id, book.title);
  // Exactly the same bytes as a Redis hit through nginx.
  const viaNginx = await get(`/api/v1/books/${book.id}`);
  const near = await conns[0].request({ method: 'GET', uri: `/api/v1/books/${book.id}` });
  assert.equal(near.headers['x-cache-layer'], 'near');
  assert.equal(near.text, viaNginx.text);
  assert.ok(await metric('bazaar_cache_near_hits_total') >= before + 3);
});

test('read-your-writes across processes: 2,000 writes, background readers, zero stale reads', async () => {
  const book = await createBook(`near-ryw-${Date.now()}`);
  let title = book.title;
  const stale = [];
  const stopReaders = await backgroundReaders(book.id);
  try {
    for (let i = 1; i <= 2000; i++) {
      // The reading process holds the current body in memory...
      await readUntilNear(1 - (i % 2), book.id, title);
      // ...then the other one writes, and the reader must see the write.
      title = await writeThenRead(book.id, i, (n, res) => stale.push({ n, got: res.json.data.title, layer: res.headers['x-cache-layer'] }));
    }
  } finally {
    const reads = await stopReaders();
    assert.ok(reads > 0, 'the background readers never read');
    for (const c of opened.splice(2)) c.close();
  }
  assert.deepEqual(stale, [], `${stale.length} stale reads`);
});

test('invalidation connections killed mid-run: zero stale reads, near hits resume after reconnect', async () => {
  const book = await createBook(`near-kill-${Date.now()}`);
  let title = book.title;
  const stale = [];
  const stopReaders = await backgroundReaders(book.id);
  let kills = 0;
  try {
    for (let i = 1; i <= 600; i++) {
      await readUntilNear(1 - (i % 2), book.id, title);
      if (i % 150 === 0) {
        // Kill them while the reader holds the entry: the write below must
        // still not be answered stale by it.
        const ids = listenerIds();
        assert.ok(ids.length >= 2, `expected both listeners, found ${ids.length}`);
        for (const id of ids) redisCli('CLIENT', 'KILL', 'ID', id);
        kills++;
      }
      title = await writeThenRead(book.id, i, (n, res) => stale.push({ n, got: res.json.data.title, layer: res.headers['x-cache-layer'] }));
    }
  } finally {
    await stopReaders();
    for (const c of opened.splice(2)) c.close();
  }
  assert.equal(kills, 4);
  assert.deepEqual(stale, [], `${stale.length} stale reads`);
  // Reconnected (new ids), and the near cache answers again.
  await waitFor('both listeners back', () => listenerIds().length >= 2);
  const before = await metric('bazaar_cache_near_hits_total');
  for (const p of [0, 1]) await readUntilNear(p, book.id, title);
  assert.ok(await metric('bazaar_cache_near_hits_total') > before, 'near hits did not resume');
});

test('a flush in Redis (nil invalidation) empties every near cache', async () => {
  const book = await createBook(`near-flush-${Date.now()}`);
  for (const p of [0, 1]) await readUntilNear(p, book.id, book.title);
  // Tracking reports a flush of any database as one nil message; db 9 holds
  // nothing, so the stack's data survives. The PING orders it (see docs/catalog-auth-cache.md).
  redisCli('-n', '9', 'FLUSHDB');
  redisCli('-n', '9', 'PING');
  for (const p of [0, 1]) {
    const res = await conns[p].request({ method: 'GET', uri: `/api/v1/books/${book.id}` });
    assert.equal(res.headers['x-cache'], 'HIT');
    assert.equal(res.headers['x-cache-layer'], 'redis', `process ${p} still held the body after the flush`);
  }
});

test('Redis frozen: no near hit once the listener is overdue, writes answer 503, near hits resume after SIGCONT', async () => {
  const book = await createBook(`near-frozen-${Date.now()}`);
  for (const p of [0, 1]) await readUntilNear(p, book.id, book.title);
  const redisPid = Number(readFileSync(`${VAR}/run/redis.pid`, 'utf8').trim());
  process.kill(redisPid, 'SIGSTOP');
  try {
    // Longer than NEAR_CACHE_PING_MS + NEAR_CACHE_MAX_LAG_MS (100 + 1000 on
    // the test stack).
    await new Promise((r) => setTimeout(r, 2500));
    for (const p of [0, 1]) {
      const t0 = Date.now();
      const res = await conns[p].request({ method: 'GET', uri: `/api/v1/books/${book.id}`, timeoutMs: HANG_MS });
      assert.equal(res.status, 200, res.text);
      assert.notEqual(res.headers['x-cache-layer'], 'near', `process ${p} answered from memory with Redis frozen`);
      assert.equal(res.headers['x-cache'], 'BYPASS');
      assert.equal(res.json.data.title, book.title);
      assert.ok(Date.now() - t0 < HANG_MS);
    }
    const w = await conns[0].request({ method: 'PATCH', uri: `/api/v1/books/${book.id}`, body: { title: 'never' }, token: admin.accessToken, timeoutMs: HANG_MS });
    assert.equal(w.status, 503, w.text);
    assert.equal(w.json?.error?.code, 'UNAVAILABLE', w.text);
  } finally {
    process.kill(redisPid, 'SIGCONT');
  }
  await waitFor('Redis answers', () => redisCli('PING') === 'PONG');
  for (const p of [0, 1]) await readUntilNear(p, book.id, book.title);
});

// The read cache (API.md §3 "Caching") through nginx against the real stack:
// X-Cache, read-your-writes for every write path (with concurrent readers
// re-filling the cache during the writes), stampede protection, and reads
// that survive Redis being down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, get, post, assertError, svc, waitFor, redisCli } from '../lib/client.mjs';
import { loginAdmin, registerUser } from '../lib/auth_helpers.mjs';

let admin;
let seq = 0;
before(async () => { admin = await loginAdmin(); });

async function createBook(extra = {}) {
  const res = await post('/api/v1/books', { title: `Cache ${Date.now()}-${++seq}`, author: 'C', priceCents: 100, stock: 5, ...extra }, { token: admin.accessToken });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

async function metric(name) {
  const text = (await get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} missing from /metrics`);
  return Number(line.split(' ')[1]);
}

// Keeps reading `paths` in a loop until stopped, so that cache entries are
// being rebuilt while writes happen: the race read-your-writes must survive.
function backgroundReaders(paths, n = 4) {
  let running = true;
  const loops = Array.from({ length: n }, async (_, i) => {
    while (running) await get(paths[i % paths.length]);
  });
  return async () => { running = false; await Promise.all(loops); };
}

test('X-Cache: MISS then HIT for details, lists, tags and recommendations', async () => {
  const book = await createBook();
  for (const p of [`/api/v1/books/${book.id}`, `/api/v1/books/${book.id}?fields=title&include=tags`, '/api/v1/books?limit=3', '/api/v1/tags', `/api/v1/books/${book.id}/recommendations`]) {
    const first = await get(p);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.headers.get('x-cache'), 'MISS', p);
    const second = await get(p);
    assert.equal(second.headers.get('x-cache'), 'HIT', p);
    assert.equal(second.text, first.text, 'a hit serves the stored bytes');
  }
  // Errors are not cached.
  for (let i = 0; i < 2; i++) assert.equal((await get('/api/v1/books/999999998')).headers.get('x-cache'), null);
  // Unknown query parameters do not create new entries.
  await get('/api/v1/books?limit=4');
  assert.equal((await get('/api/v1/books?limit=4&utm=1')).headers.get('x-cache'), 'HIT');
});

test('cache TTLs follow API.md: details and lists 5 min, tags 10 min, profile 10 min', async () => {
  const book = await createBook();
  const u = await registerUser('ttl');
  await get(`/api/v1/books/${book.id}`);
  await get('/api/v1/books?limit=2');
  await get('/api/v1/tags');
  await get('/api/v1/auth/profile', { token: u.accessToken });
  const ttl = (pattern) => redisCli('--scan', '--pattern', pattern).split('\n').filter(Boolean).map((k) => Number(redisCli('TTL', k)));
  // The book and the user are new and were read once: exactly one entry each.
  const detail = ttl(`c:{book:${book.id}}:v:*`);
  assert.equal(detail.length, 1, `detail entries: ${detail}`);
  assert.ok(detail[0] > 280 && detail[0] <= 300, `detail ttl ${detail[0]}`);
  const profile = ttl(`c:{user:${u.user.id}}:v:*`);
  assert.equal(profile.length, 1, `profile entries: ${profile}`);
  assert.ok(profile[0] > 580 && profile[0] <= 600, `profile ttl ${profile[0]}`);
  // Lists and tags also hold entries of earlier tests; the ones just built
  // carry the full TTL, and none outlives it.
  const lists = ttl('c:{books}:v:*');
  assert.ok(lists.length >= 1, 'no list entry cached');
  assert.ok(lists.every((t) => t > 0 && t <= 300), `list ttls ${lists}`);
  assert.ok(Math.max(...lists) > 280, `list ttls ${lists}`);
  const tags = ttl('c:{tags}:v:*');
  assert.ok(tags.length >= 1, 'no tags entry cached');
  for (const t of tags) assert.ok(t > 580 && t <= 600, `tags ttl ${t}`);
});

test('read-your-writes: PATCH book is visible at once in details, variants and lists', async () => {
  const book = await createBook({ tags: ['ryw'] });
  const paths = [`/api/v1/books/${book.id}`, `/api/v1/books/${book.id}?fields=priceCents`, '/api/v1/books?limit=5', '/api/v1/books?tag=ryw&limit=100'];
  const stop = backgroundReaders(paths);
  try {
    for (let i = 1; i <= 25; i++) {
      const res = await request('PATCH', `/api/v1/books/${book.id}`, { token: admin.accessToken, body: { priceCents: 1000 + i } });
      assert.equal(res.status, 200, res.text);
      assert.equal((await get(paths[0])).json.data.priceCents, 1000 + i, `detail after write ${i}`);
      assert.equal((await get(paths[1])).json.data.priceCents, 1000 + i, `select variant after write ${i}`);
      const list = (await get(paths[3])).json.data.find((b) => b.id === book.id);
      assert.equal(list.priceCents, 1000 + i, `tag list after write ${i}`);
    }
  } finally { await stop(); }
});

test('read-your-writes: POST and DELETE book are visible at once in lists, details and tag counts', async () => {
  const tag = `rywc-${Date.now()}`;
  const stop = backgroundReaders(['/api/v1/books?limit=5', `/api/v1/books?tag=${tag}`, '/api/v1/tags']);
  try {
    for (let i = 0; i < 10; i++) {
      const book = await createBook({ tags: [tag] });
      assert.equal((await get('/api/v1/books?limit=5')).json.data[0].id, book.id, `new book first, round ${i}`);
      assert.ok((await get(`/api/v1/books?tag=${tag}`)).json.data.some((b) => b.id === book.id));
      assert.equal((await get('/api/v1/tags')).json.data.find((t) => t.name === tag).bookCount, 1);
      assert.equal((await get(`/api/v1/books/${book.id}`)).status, 200);
      assert.equal((await request('DELETE', `/api/v1/books/${book.id}`, { token: admin.accessToken })).status, 204);
      assertError(await get(`/api/v1/books/${book.id}`), 404, 'NOT_FOUND');
      assert.ok(!(await get('/api/v1/books?limit=5')).json.data.some((b) => b.id === book.id), `deleted book listed, round ${i}`);
      assert.equal((await get('/api/v1/tags')).json.data.find((t) => t.name === tag).bookCount, 0);
    }
  } finally { await stop(); }
});

test('read-your-writes: tag set changes show in include=tags, tag filters and tag counts', async () => {
  const book = await createBook({ tags: ['set-0'] });
  const stop = backgroundReaders([`/api/v1/books/${book.id}?include=tags`, '/api/v1/tags', '/api/v1/books?tag=set-1']);
  try {
    for (let i = 1; i <= 10; i++) {
      const name = `set-${i % 2}`;
      await request('PATCH', `/api/v1/books/${book.id}`, { token: admin.accessToken, body: { tags: [name] } });
      assert.deepEqual((await get(`/api/v1/books/${book.id}?include=tags`)).json.data.tags.map((t) => t.name), [name]);
      const inSet1 = (await get('/api/v1/books?tag=set-1&limit=100')).json.data.some((b) => b.id === book.id);
      assert.equal(inSet1, name === 'set-1', `tag filter after write ${i}`);
    }
  } finally { await stop(); }
});

test('read-your-writes: favorites change favoriteCount in details and lists at once', async () => {
  const book = await createBook();
  const u = await registerUser('rywfav');
  const stop = backgroundReaders([`/api/v1/books/${book.id}`, '/api/v1/books?limit=3']);
  try {
    for (let i = 0; i < 10; i++) {
      await request('POST', `/api/v1/books/${book.id}/favorite`, { token: u.accessToken });
      assert.equal((await get(`/api/v1/books/${book.id}`)).json.data.favoriteCount, 1);
      assert.equal((await get('/api/v1/books?limit=3')).json.data.find((b) => b.id === book.id).favoriteCount, 1);
      assert.deepEqual((await get('/api/v1/me/favorites', { token: u.accessToken })).json.data.map((b) => b.id), [book.id]);
      await request('DELETE', `/api/v1/books/${book.id}/favorite`, { token: u.accessToken });
      assert.equal((await get(`/api/v1/books/${book.id}`)).json.data.favoriteCount, 0);
      assert.equal((await get('/api/v1/books?limit=3')).json.data.find((b) => b.id === book.id).favoriteCount, 0);
    }
  } finally { await stop(); }
});

test('read-your-writes: profile PATCH under concurrent profile reads', async () => {
  const u = await registerUser('rywprof');
  let running = true;
  const reader = (async () => { while (running) await get('/api/v1/auth/profile', { token: u.accessToken }); })();
  try {
    for (let i = 0; i < 20; i++) {
      await request('PATCH', '/api/v1/auth/profile', { token: u.accessToken, body: { username: `p${i}` } });
      assert.equal((await get('/api/v1/auth/profile', { token: u.accessToken })).json.data.username, `p${i}`);
    }
  } finally { running = false; await reader; }
});

test('stampede: 50 concurrent reads of a cold key cause one Postgres load', async () => {
  for (const kind of ['detail', 'list']) {
    const book = await createBook();  // also makes every list entry stale
    const path = kind === 'detail' ? `/api/v1/books/${book.id}?include=tags` : '/api/v1/books?limit=20&include=tags';
    // Every MISS is exactly one call of the loader, i.e. one Postgres
    // transaction; HITs (including requests that waited for the rebuild)
    // never touch Postgres. The counter is shared by all fcgi processes.
    const missesBefore = await metric('bazaar_cache_misses_total');
    const responses = await Promise.all(Array.from({ length: 50 }, () => get(path)));
    const missesAfter = await metric('bazaar_cache_misses_total');
    assert.ok(responses.every((r) => r.status === 200));
    const misses = responses.filter((r) => r.headers.get('x-cache') === 'MISS').length;
    assert.equal(misses, 1, `${kind}: ${misses} requests loaded from Postgres`);
    assert.equal(missesAfter - missesBefore, 1, `${kind}: loader ran ${missesAfter - missesBefore} times`);
    assert.equal(new Set(responses.map((r) => r.text)).size, 1, 'everyone got the same body');
  }
});

test('Redis down: reads are served from Postgres with X-Cache: BYPASS; writes fail cleanly; recovery is automatic', async () => {
  const book = await createBook({ tags: ['bypass'] });
  const u = await registerUser('bypass');
  await get(`/api/v1/books/${book.id}`);
  svc('stop', 'redis');
  try {
    for (const p of [`/api/v1/books/${book.id}`, '/api/v1/books?limit=5', '/api/v1/tags', `/api/v1/books/${book.id}/recommendations`]) {
      const res = await get(p);
      assert.equal(res.status, 200, `${p}: ${res.text}`);
      assert.equal(res.headers.get('x-cache'), 'BYPASS', p);
    }
    const prof = await get('/api/v1/auth/profile', { token: u.accessToken });
    assert.equal(prof.status, 200);
    assert.equal(prof.headers.get('x-cache'), 'BYPASS');
    // A write cannot invalidate the cache, so it is refused before changing anything.
    const w = await request('PATCH', `/api/v1/books/${book.id}`, { token: admin.accessToken, body: { priceCents: 7 } });
    assertError(w, 503, 'UNAVAILABLE');
    const stillBypass = await get(`/api/v1/books/${book.id}`);
    assert.equal(stillBypass.json.data.priceCents, 100, 'the refused write changed nothing');
  } finally {
    svc('start', 'redis');
  }
  await waitFor('redis back', async () => (await get(`/api/v1/books/${book.id}`)).headers.get('x-cache') === 'HIT');
  const res = await request('PATCH', `/api/v1/books/${book.id}`, { token: admin.accessToken, body: { priceCents: 8 } });
  assert.equal(res.status, 200, res.text);
  assert.equal((await get(`/api/v1/books/${book.id}`)).json.data.priceCents, 8);
});

after(() => {
  // If a test failed while Redis was stopped, leave the stack usable.
  try { redisCli('PING'); } catch { svc('start', 'redis'); }
});

// Catalog (API.md §3) through nginx against the real stack: books CRUD,
// tags, favorites, cursor pagination, select/include, filters and input
// validation.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { request, get, post, assertError, psql } from '../lib/client.mjs';
import { loginAdmin, loginUser, registerUser } from '../lib/auth_helpers.mjs';

const VAR = process.env.BAZAAR_VAR_DIR || 'var/test';
const BOOK_KEYS = ['author', 'createdAt', 'currency', 'description', 'favoriteCount', 'id', 'priceCents', 'stock', 'title', 'updatedAt'];
let admin;
let seq = 0;

before(async () => { admin = await loginAdmin(); });

async function createBook(extra = {}) {
  const body = { title: `Book ${Date.now()}-${++seq}`, author: 'Test Author', priceCents: 1234, stock: 5, ...extra };
  const res = await post('/api/v1/books', body, { token: admin.accessToken });
  assert.equal(res.status, 201, res.text);
  return res.json.data;
}

const patch = (id, body, token = admin.accessToken) => request('PATCH', `/api/v1/books/${id}`, { token, body });
const del = (id, token = admin.accessToken) => request('DELETE', `/api/v1/books/${id}`, { token });

test('GET /books: envelope, default limit 20, newest first, book shape', async () => {
  const res = await get('/api/v1/books');
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.success, true);
  assert.equal(res.json.meta.limit, 20);
  assert.equal(res.json.data.length, 20);
  assert.equal(typeof res.json.meta.nextCursor, 'string');
  const ids = res.json.data.map((b) => Number(b.id));
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest (highest id) first');
  for (const b of res.json.data) {
    assert.deepEqual(Object.keys(b).sort(), BOOK_KEYS);
    assert.equal(typeof b.id, 'string');
    assert.equal(typeof b.priceCents, 'number');
    assert.match(b.currency, /^[A-Z]{3}$/);
  }
});

test('limit bounds and malformed paging parameters are 400 naming the parameter', async () => {
  for (const limit of ['0', '101', '100000', '-1', 'abc', '1.5', '']) {
    const e = assertError(await get(`/api/v1/books?limit=${limit}`), 400, 'VALIDATION_FAILED');
    assert.equal(e.details[0].field, 'limit');
  }
  assert.equal((await get('/api/v1/books?limit=100')).json.data.length, 100);
  assert.equal((await get('/api/v1/books?limit=1')).json.data.length, 1);
});

test('forged, tampered, truncated and foreign cursors are 400', async () => {
  const page = await get('/api/v1/books?limit=5');
  const cursor = page.json.meta.nextCursor;
  const raw = Buffer.from(cursor, 'base64url').toString();
  const forgedId = Buffer.from(raw.replace(/^v1\.\d+/, 'v1.99999')).toString('base64url');
  const flipped = cursor.slice(0, -2) + (cursor.endsWith('AA') ? 'BB' : 'AA');
  for (const bad of [forgedId, flipped, cursor.slice(0, 10), 'abc', '!!!', Buffer.from('v1.5.x.y').toString('base64url')]) {
    const e = assertError(await get(`/api/v1/books?limit=5&cursor=${encodeURIComponent(bad)}`), 400, 'VALIDATION_FAILED');
    assert.equal(e.details[0].field, 'cursor');
  }
  // A cursor is bound to its filters: reusing it with another tag is refused.
  const e = assertError(await get(`/api/v1/books?limit=5&tag=fiction&cursor=${cursor}`), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'cursor');
  assert.equal((await get(`/api/v1/books?limit=5&cursor=${cursor}`)).status, 200);
});

test('pagination walks the whole catalog exactly once while books are being inserted', async () => {
  const before = new Set(psql('SELECT id FROM books WHERE deleted_at IS NULL').split('\n').filter(Boolean));
  let inserting = true;
  const inserted = [];
  const inserter = (async () => {
    while (inserting) inserted.push((await createBook({ title: `During walk ${++seq}` })).id);
  })();
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const res = await get(`/api/v1/books?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, res.text);
    seen.push(...res.json.data.map((b) => b.id));
    cursor = res.json.meta.nextCursor;
    pages++;
  } while (cursor);
  inserting = false;
  await inserter;
  assert.ok(inserted.length > 0, 'books were inserted during the walk');
  assert.equal(new Set(seen).size, seen.length, 'no duplicate');
  for (const id of before) assert.ok(seen.includes(id), `book ${id} missing from the walk (gap)`);
  const ids = seen.map(Number);
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'strictly newest first across pages');
  assert.ok(pages >= Math.ceil(before.size / 7));
});

test('last page has nextCursor null, and only the last page', async () => {
  // A tag of its own holds exactly these five books, whatever else the
  // catalog holds.
  const tag = `last-page-${Date.now()}`;
  const created = [];
  for (let i = 0; i < 5; i++) created.push((await createBook({ tags: [tag] })).id);
  const newestFirst = created.map(Number).sort((a, b) => b - a).map(String);
  const walk = async (limit) => {
    const pages = [];
    let cursor = null;
    do {
      const res = await get(`/api/v1/books?limit=${limit}&fields=id&tag=${tag}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, res.text);
      pages.push(res.json);
      cursor = res.json.meta.nextCursor;
      assert.ok(pages.length <= 6, `limit ${limit}: the walk does not end`);
    } while (cursor);
    assert.deepEqual(pages.flatMap((p) => p.data.map((b) => b.id)), newestFirst, `limit ${limit}`);
    return pages;
  };
  // 2 + 2 + 1: a cursor on every page but the last.
  let pages = await walk(2);
  assert.deepEqual(pages.map((p) => p.data.length), [2, 2, 1]);
  assert.equal(typeof pages[0].meta.nextCursor, 'string');
  assert.equal(typeof pages[1].meta.nextCursor, 'string');
  assert.strictEqual(pages[2].meta.nextCursor, null);
  // An exactly full last page has no cursor either (no trip to an empty page).
  pages = await walk(5);
  assert.deepEqual(pages.map((p) => p.data.length), [5]);
  assert.strictEqual(pages[0].meta.nextCursor, null);
  pages = await walk(100);
  assert.deepEqual(pages.map((p) => p.data.length), [5]);
  assert.strictEqual(pages[0].meta.nextCursor, null);
  // 4 + 1.
  pages = await walk(4);
  assert.deepEqual(pages.map((p) => p.data.length), [4, 1]);
  assert.equal(typeof pages[0].meta.nextCursor, 'string');
  assert.strictEqual(pages[1].meta.nextCursor, null);
});

test('fields= selects fields plus id; include= embeds tags and images; unknown names are 400', async () => {
  const book = await createBook({ tags: ['select-test'] });
  let res = await get(`/api/v1/books/${book.id}?fields=title,priceCents`);
  assert.deepEqual(res.json.data, { id: book.id, title: book.title, priceCents: 1234 });
  res = await get('/api/v1/books?limit=3&fields=author');
  for (const b of res.json.data) assert.deepEqual(Object.keys(b).sort(), ['author', 'id']);
  res = await get(`/api/v1/books/${book.id}?include=tags,images`);
  assert.deepEqual(res.json.data.tags.map((t) => t.name), ['select-test']);
  assert.match(res.json.data.tags[0].id, /^\d+$/);
  assert.deepEqual(res.json.data.images, []);
  res = await get(`/api/v1/books/${book.id}?fields=title&include=tags`);
  assert.deepEqual(Object.keys(res.json.data).sort(), ['id', 'tags', 'title']);
  res = await get(`/api/v1/books/${book.id}`);
  assert.ok(!('tags' in res.json.data) && !('images' in res.json.data), 'relations only with include=');
  res = await get('/api/v1/books?limit=5&include=tags');
  for (const b of res.json.data) assert.ok(Array.isArray(b.tags));

  let e = assertError(await get(`/api/v1/books/${book.id}?fields=title,password_hash`), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'fields');
  e = assertError(await get('/api/v1/books?include=author'), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'include');
  e = assertError(await get('/api/v1/books?fields=tags'), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'fields');
});

test('tag= and q= filter; q is case-insensitive on title and author', async () => {
  const marker = `zq${Date.now()}`;
  const a = await createBook({ title: `The ${marker.toUpperCase()} Saga`, tags: [`tag-${marker}`] });
  const b = await createBook({ author: `Ann ${marker}`, tags: [`tag-${marker}`, 'other'] });
  await createBook({ title: 'Unrelated' });
  let res = await get(`/api/v1/books?q=${marker}`);
  assert.deepEqual(res.json.data.map((x) => x.id).sort(), [a.id, b.id].sort());
  res = await get(`/api/v1/books?tag=${encodeURIComponent(`TAG-${marker}`)}`);
  assert.deepEqual(res.json.data.map((x) => x.id).sort(), [a.id, b.id].sort(), 'tag names are case-insensitive');
  res = await get(`/api/v1/books?tag=tag-${marker}&q=Saga`);
  assert.deepEqual(res.json.data.map((x) => x.id), [a.id]);
  res = await get('/api/v1/books?tag=no-such-tag-anywhere');
  assert.deepEqual(res.json.data, []);
  assert.equal(res.json.meta.nextCursor, null);
  let e = assertError(await get('/api/v1/books?q=ab'), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'q');
  e = assertError(await get(`/api/v1/books?tag=${'x'.repeat(51)}`), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'tag');
});

test('SQL and LIKE metacharacters in q and tag are plain text', async () => {
  const count = psql('SELECT count(*) FROM books');
  const evil = ["'; DROP TABLE books; --", "%' OR '1'='1", '\\\\%%__', '") OR 1=1 --', '%%%', '___'];
  for (const s of evil) {
    for (const param of ['q', 'tag']) {
      const res = await get(`/api/v1/books?${param}=${encodeURIComponent(s)}`);
      assert.equal(res.status, 200, `${param}=${s}: ${res.text}`);
      assert.deepEqual(res.json.data, [], `${param}=${s} matched something`);
    }
  }
  const literal = await createBook({ title: `Percent 100% _under_ score ${Date.now()}` });
  const res = await get(`/api/v1/books?limit=100&q=${encodeURIComponent('100% _u')}`);
  assert.ok(res.json.data.some((b) => b.id === literal.id));
  for (const b of res.json.data) assert.ok(b.title.toLowerCase().includes('100% _u'), `${b.title} matched a wildcard`);
  assert.equal(Number(psql('SELECT count(*) FROM books')), Number(count) + 1);
});

test('q and tag that are not well-formed UTF-8 are 400, not a database error', async () => {
  // Percent-decoded bytes: overlong NUL, a UTF-16 surrogate, above U+10FFFF,
  // a truncated sequence (found by the book_query fuzz target).
  for (const bytes of ['%C0%80abc', '%ED%A0%80abc', '%F4%90%80%80abc', 'abc%E2%82']) {
    for (const param of ['q', 'tag']) {
      const e = assertError(await get(`/api/v1/books?${param}=${bytes}`), 400, 'VALIDATION_FAILED');
      assert.equal(e.details[0].field, param, `${param}=${bytes}`);
    }
  }
  const res = await get(`/api/v1/books?q=${encodeURIComponent('café €')}`);
  assert.equal(res.status, 200, res.text);
});

test('GET /books/:id: 200, 404 for missing or deleted, 400 for a non-numeric id', async () => {
  const book = await createBook();
  const res = await get(`/api/v1/books/${book.id}`);
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys(res.json.data).sort(), BOOK_KEYS);
  assertError(await get('/api/v1/books/999999999'), 404, 'NOT_FOUND');
  let e = assertError(await get('/api/v1/books/abc'), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'id');
  e = assertError(await get('/api/v1/books/-3'), 400, 'VALIDATION_FAILED');
  assert.equal((await del(book.id)).status, 204);
  assertError(await get(`/api/v1/books/${book.id}`), 404, 'NOT_FOUND');
  assertError(await del(book.id), 404, 'NOT_FOUND');
  assertError(await patch(book.id, { stock: 1 }), 404, 'NOT_FOUND');
});

test('POST /books: 201 with defaults, tags connect-or-create; bad input 400 naming every field', async () => {
  const tagsBefore = Number(psql('SELECT count(*) FROM tags'));
  const fresh = `Brand New ${Date.now()}`;
  const book = await createBook({ description: 'd', currency: 'EUR', tags: ['fiction', fresh, ' fiction '] });
  assert.equal(book.currency, 'EUR');
  assert.deepEqual(book.tags.map((t) => t.name).sort(), [fresh.toLowerCase(), 'fiction'].sort());
  assert.equal(Number(psql('SELECT count(*) FROM tags')), tagsBefore + 1, 'fiction reused, one tag created');
  const minimal = await createBook();
  assert.equal(minimal.description, '');
  assert.equal(minimal.currency, 'USD');
  assert.equal(minimal.favoriteCount, 0);

  const cases = [
    [{ title: 'x', author: 'y', priceCents: -1, stock: 1 }, ['priceCents']],
    [{ title: 'x', author: 'y', priceCents: 1.5, stock: 1 }, ['priceCents']],
    [{ title: 'x', author: 'y', priceCents: '100', stock: 1 }, ['priceCents']],
    [{ title: 'x', author: 'y', priceCents: 1, stock: -5 }, ['stock']],
    [{ title: 'x', author: 'y', priceCents: 1, stock: 1, currency: 'usd' }, ['currency']],
    [{ title: 'x', author: 'y', priceCents: 1, stock: 1, tags: 'fiction' }, ['tags']],
    [{ title: 'x', author: 'y', priceCents: 1, stock: 1, tags: [''] }, ['tags[0]']],
    [{ title: 'x', author: 'y', priceCents: 1, stock: 1, isbn: '123' }, ['isbn']],
    [{ title: 'x'.repeat(301), author: 'y', priceCents: 1, stock: 1 }, ['title']],
    [{ author: 'y', stock: 1 }, ['priceCents', 'title']],
    [{ title: 'x', author: 'y', priceCents: 1e20, stock: 1 }, ['priceCents']],
  ];
  for (const [body, fields] of cases) {
    const e = assertError(await post('/api/v1/books', body, { token: admin.accessToken }), 400, 'VALIDATION_FAILED');
    assert.deepEqual(e.details.map((d) => d.field).sort(), fields, JSON.stringify(body));
    for (const d of e.details) assert.equal(typeof d.reason, 'string');
  }
  assertError(await request('POST', '/api/v1/books', { token: admin.accessToken, raw: '[1,2]', headers: { 'Content-Type': 'application/json' } }), 400, 'MALFORMED_JSON');
});

test('PATCH /books/:id: any subset; tags replaces the set, unlinks old tags without deleting them', async () => {
  const book = await createBook({ tags: ['patch-a', 'patch-b'] });
  let res = await patch(book.id, { priceCents: 999 });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.priceCents, 999);
  assert.equal(res.json.data.title, book.title, 'untouched fields stay');
  assert.deepEqual(res.json.data.tags.map((t) => t.name).sort(), ['patch-a', 'patch-b'], 'no tags key: set unchanged');
  res = await patch(book.id, { tags: ['patch-b', 'patch-c'] });
  assert.deepEqual(res.json.data.tags.map((t) => t.name).sort(), ['patch-b', 'patch-c']);
  assert.equal(psql("SELECT count(*) FROM tags WHERE name = 'patch-a'"), '1', 'the unlinked tag still exists');
  res = await patch(book.id, { tags: [] });
  assert.deepEqual(res.json.data.tags, []);
  assert.ok(Date.parse(res.json.data.updatedAt) >= Date.parse(book.updatedAt));
  let e = assertError(await patch(book.id, {}), 400, 'VALIDATION_FAILED');
  e = assertError(await patch(book.id, { stock: -1, title: '' }), 400, 'VALIDATION_FAILED');
  assert.deepEqual(e.details.map((d) => d.field).sort(), ['stock', 'title']);
  e = assertError(await patch(book.id, { favoriteCount: 100 }), 400, 'VALIDATION_FAILED');
  assert.equal(e.details[0].field, 'favoriteCount');
  assertError(await patch(999999999, { stock: 1 }), 404, 'NOT_FOUND');
});

test('GET /tags: every tag with its count of live books', async () => {
  const name = `count-${Date.now()}`;
  const a = await createBook({ tags: [name] });
  await createBook({ tags: [name] });
  const find = async () => (await get('/api/v1/tags')).json.data.find((t) => t.name === name);
  let tag = await find();
  assert.equal(tag.bookCount, 2);
  assert.match(tag.id, /^\d+$/);
  assert.deepEqual(Object.keys(tag).sort(), ['bookCount', 'id', 'name']);
  await del(a.id);
  tag = await find();
  assert.equal(tag.bookCount, 1, 'deleted books are not counted');
});

test('DELETE /books/:id removes the images: rows and files', async () => {
  const book = await createBook();
  const media = path.join(VAR, 'media');
  const files = [`originals/t-${book.id}.jpg`, `optimized/t-${book.id}-150x150.jpg`, `optimized/t-${book.id}.webp`];
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(media, f)), { recursive: true });
    fs.writeFileSync(path.join(media, f), 'x');
  }
  psql(`INSERT INTO images (book_id, status, content_type, original_path, variants) VALUES (${book.id}, 'ready', 'image/jpeg', '/media/${files[0]}', '{"thumbnail":"/media/${files[1]}","webp":"/media/${files[2]}"}')`);
  const withImages = await get(`/api/v1/books/${book.id}?include=images`);
  assert.equal(withImages.json.data.images[0].status, 'ready');
  assert.equal(withImages.json.data.images[0].original, `/media/${files[0]}`);
  assert.equal(withImages.json.data.images[0].variants.thumbnail, `/media/${files[1]}`);
  assert.equal((await del(book.id)).status, 204);
  assert.equal(psql(`SELECT count(*) FROM images WHERE book_id = ${book.id}`), '0');
  for (const f of files) assert.ok(!fs.existsSync(path.join(media, f)), `${f} still exists`);
  // Soft delete: the row stays for order history, invisible to clients.
  assert.equal(psql(`SELECT deleted_at IS NOT NULL FROM books WHERE id = ${book.id}`), 't');
});

test('favorites: idempotent add and remove, counted once, listed per user only', async () => {
  const book = await createBook();
  const alice = await registerUser('fav-a');
  const bob = await registerUser('fav-b');
  const fav = (token, method = 'POST', id = book.id) => request(method, `/api/v1/books/${id}/favorite`, { token });
  for (let i = 0; i < 3; i++) assert.equal((await fav(alice.accessToken)).status, 204);
  assert.equal((await get(`/api/v1/books/${book.id}`)).json.data.favoriteCount, 1, 'three POSTs are one favorite');
  assert.equal((await fav(bob.accessToken)).status, 204);
  assert.equal((await get(`/api/v1/books/${book.id}`)).json.data.favoriteCount, 2);

  let mine = await get('/api/v1/me/favorites', { token: alice.accessToken });
  assert.equal(mine.status, 200);
  assert.deepEqual(mine.json.data.map((b) => b.id), [book.id]);
  assert.equal(mine.json.meta.nextCursor, null);
  assert.equal(mine.json.meta.limit, 20);

  for (let i = 0; i < 2; i++) assert.equal((await fav(alice.accessToken, 'DELETE')).status, 204);
  assert.equal((await get(`/api/v1/books/${book.id}`)).json.data.favoriteCount, 1, 'two DELETEs remove one');
  mine = await get('/api/v1/me/favorites', { token: alice.accessToken });
  assert.deepEqual(mine.json.data, []);
  const bobs = await get('/api/v1/me/favorites', { token: bob.accessToken });
  assert.deepEqual(bobs.json.data.map((b) => b.id), [book.id], "bob's list is his own");

  assertError(await fav(undefined), 401, 'UNAUTHENTICATED');
  assertError(await get('/api/v1/me/favorites'), 401, 'UNAUTHENTICATED');
  assertError(await fav(alice.accessToken, 'POST', 999999999), 404, 'NOT_FOUND');
  assertError(await fav(alice.accessToken, 'DELETE', 999999999), 404, 'NOT_FOUND');
  assertError(await fav(alice.accessToken, 'POST', 'abc'), 400, 'VALIDATION_FAILED');
});

test('GET /me/favorites pages with cursors bound to the user', async () => {
  const u = await registerUser('favpage');
  const other = await loginUser(3);
  const books = [];
  for (let i = 0; i < 5; i++) books.push(await createBook());
  for (const b of books) await request('POST', `/api/v1/books/${b.id}/favorite`, { token: u.accessToken });
  const p1 = await get('/api/v1/me/favorites?limit=2', { token: u.accessToken });
  assert.deepEqual(p1.json.data.map((b) => b.id), [books[4].id, books[3].id]);
  const c = p1.json.meta.nextCursor;
  const p2 = await get(`/api/v1/me/favorites?limit=2&cursor=${c}`, { token: u.accessToken });
  assert.deepEqual(p2.json.data.map((b) => b.id), [books[2].id, books[1].id]);
  const p3 = await get(`/api/v1/me/favorites?limit=2&cursor=${p2.json.meta.nextCursor}`, { token: u.accessToken });
  assert.deepEqual(p3.json.data.map((b) => b.id), [books[0].id]);
  assert.equal(p3.json.meta.nextCursor, null);
  assertError(await get(`/api/v1/me/favorites?limit=2&cursor=${c}`, { token: other.accessToken }), 400, 'VALIDATION_FAILED');
  assertError(await get('/api/v1/me/favorites?limit=500', { token: u.accessToken }), 400, 'VALIDATION_FAILED');
});

test('GET /books/:id/recommendations: best first, at most 10, deleted books left out', async () => {
  const base = await createBook();
  const recs = [];
  for (let i = 0; i < 12; i++) recs.push(await createBook());
  const values = recs.map((r, i) => `(${base.id}, ${r.id}, ${i})`).join(',');
  psql(`INSERT INTO recommendations (book_id, recommended_book_id, score) VALUES ${values}`);
  // Inserted before the first read: nothing of this book is cached yet.
  const res = await get(`/api/v1/books/${base.id}/recommendations`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.data.map((b) => b.id), recs.slice(2).reverse().map((b) => b.id));
  await del(recs[11].id);
  const after = await get(`/api/v1/books/${base.id}/recommendations`);
  assert.equal(after.json.data.length, 10);
  assert.ok(!after.json.data.some((b) => b.id === recs[11].id));
  assertError(await get('/api/v1/books/999999999/recommendations'), 404, 'NOT_FOUND');
});

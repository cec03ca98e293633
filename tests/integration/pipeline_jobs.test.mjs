// Pipeline jobs of the data, cache, image and ai branches (issue 11), run as
// ordinary jobs of the queue `pipelines` (enqueued through the outbox, as
// the registry will) against the real stack: catalog import from var/import,
// sales summary, recommendations and their endpoint, cache invalidation by
// pattern, image orphans.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { get, post, request, psql, redisCli, waitFor, assertError } from '../lib/client.mjs';
import { loginAdmin } from '../lib/auth_helpers.mjs';

const VAR = path.resolve(process.env.BAZAAR_VAR_DIR || 'var/test');
const IMPORT = path.join(VAR, 'import');
let admin;

before(async () => {
  admin = (await loginAdmin()).accessToken;
  fs.mkdirSync(IMPORT, { recursive: true });
});

const sq = (s) => s.replace(/'/g, "''");

// Enqueues a pipeline job and waits until it completed or failed; returns its details.
async function runJob(name, data = {}, { timeoutMs = 240000 } = {}) {
  const jobId = `t-${name}-${crypto.randomUUID()}`;
  const payload = JSON.stringify({ name, data, options: { jobId, attempts: 1, timeoutMs: 600000 } });
  psql(`INSERT INTO outbox (topic, payload) VALUES ('job:pipelines', '${sq(payload)}'::jsonb); NOTIFY bazaar_outbox_jobs`);
  // Polled twice a second: admin routes are rate limited per user (600/min).
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await get(`/api/v1/admin/queues/pipelines/jobs/${jobId}`, { token: admin });
    if (res.status === 200 && ['completed', 'failed'].includes(res.json.data.state)) return res.json.data;
    assert.ok(Date.now() < deadline, `job ${name} did not finish: ${res.status} ${res.text.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function completed(name, data, opts) {
  const job = await runJob(name, data, opts);
  assert.equal(job.state, 'completed', `${name}: ${job.lastError}`);
  return job;
}

// ISBN-13 with its check digit.
function isbn13(twelve) {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(twelve[i]) * (i % 2 ? 3 : 1);
  return twelve + String((10 - (sum % 10)) % 10);
}
const csvField = (v) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/* ---- data.import -------------------------------------------------------- */

test('data.import: 10,000-row CSV with 3 bad rows, exact lines; a rerun changes nothing', async () => {
  const run = String(crypto.randomInt(10000, 99999));
  const isbnOf = (i) => isbn13(`978${run}${String(i).padStart(4, '0')}`);
  const lines = ['isbn,title,author,priceCents,stock,description,tags'];
  const badLines = [];
  let physical = 1; // the header
  for (let i = 0; i < 10000; i++) {
    let isbn = isbnOf(i);
    let price = String(100 + i);
    let title = `Imported ${run} #${i}, "vol" ${i % 7}`;
    let description = i % 1000 === 10 ? 'first line\nsecond line' : `desc ${i}`;
    const start = physical + 1;
    if (i === 99) { isbn = isbn.slice(0, 12) + String((Number(isbn[12]) + 1) % 10); badLines.push([start, 'isbn']); }
    if (i === 5000) { price = 'abc'; badLines.push([start, 'priceCents']); }
    if (i === 9998) { title = ''; badLines.push([start, 'title']); }
    const row = [isbn, title, `Author ${i % 50}`, price, String(i % 20), description, `imp-${run}|genre-${i % 5}`];
    const text = row.map(csvField).join(',');
    lines.push(text);
    physical += text.split('\n').length;
  }
  const feed = lines.join('\r\n') + '\r\n';
  const name = `feed-${run}.csv`;
  fs.writeFileSync(path.join(IMPORT, `.${name}`), feed);
  fs.renameSync(path.join(IMPORT, `.${name}`), path.join(IMPORT, name));

  const job = await completed('data.import', { file: name });
  const r = job.returnValue;
  assert.equal(r.imported, 9997, JSON.stringify(r).slice(0, 500));
  assert.equal(r.updated, 0);
  assert.equal(r.badCount, 3);
  assert.deepEqual(r.bad.map((b) => b.line), badLines.map(([l]) => l));
  r.bad.forEach((b, k) => assert.match(b.reason, new RegExp(badLines[k][1]), b.reason));
  assert.ok(badLines[1][0] > 5002, 'quoted newlines before row 5000 shift its line');
  assert.equal(r.files[0].movedTo.startsWith('done/'), true);
  assert.ok(fs.existsSync(path.join(IMPORT, r.files[0].movedTo)));
  assert.ok(!fs.existsSync(path.join(IMPORT, name)));
  assert.equal(psql(`SELECT count(*) FROM books WHERE isbn LIKE '978${run}%' AND deleted_at IS NULL`), '9997');
  assert.equal(psql(`SELECT count(*) FROM book_tags bt JOIN tags t ON t.id = bt.tag_id WHERE t.name = 'imp-${run}'`), '9997');
  assert.equal(psql(`SELECT description FROM books WHERE isbn = '${isbnOf(10)}'`), 'first line\nsecond line');
  // Progress reached job:events, with the counts at that point.
  const events = (await get('/api/v1/admin/events?limit=500', { token: admin })).json.data
    .filter((e) => e.jobId === job.id && e.state === 'progress');
  assert.ok(events.length >= 10, `progress events: ${events.length}`);
  assert.ok(events.some((e) => e.progress.imported === 9997 && e.progress.file === name), JSON.stringify(events[0]));

  // The same feed again: nothing new, nothing changed.
  fs.writeFileSync(path.join(IMPORT, name), feed);
  const again = (await completed('data.import', { file: name })).returnValue;
  assert.equal(again.imported, 0);
  assert.equal(again.updated, 0);
  assert.equal(again.unchanged, 9997);
  assert.deepEqual(again.bad.map((b) => b.line), badLines.map(([l]) => l));
  assert.equal(psql(`SELECT count(*) FROM books WHERE isbn LIKE '978${run}%'`), '9997');

  // An NDJSON update of two books, one by its ISBN-10 form: visible at once
  // through the read cache (warmed first), tags replaced.
  const id0 = psql(`SELECT id FROM books WHERE isbn = '${isbnOf(0)}'`);
  const warm = await get(`/api/v1/books/${id0}?include=tags`);
  assert.equal(warm.json.data.priceCents, 100);
  assert.equal((await get(`/api/v1/books/${id0}?include=tags`)).headers.get('x-cache'), 'HIT');
  const nd = [
    JSON.stringify({ isbn: isbnOf(0), title: 'Renamed', author: 'Author 0', priceCents: 4242, stock: 0, tags: ['Solo'] }),
    JSON.stringify({ isbn: isbnOf(1), title: `Imported ${run} #1, "vol" 1`, author: 'Author 1', priceCents: 101, stock: 1, description: 'desc 1', tags: [`imp-${run}`, 'genre-1'] }),
    '{"isbn": "not-an-isbn"',
  ].join('\n');
  fs.writeFileSync(path.join(IMPORT, `upd-${run}.ndjson`), nd);
  const upd = (await completed('data.import', {})).returnValue;
  const mine = upd.files.find((f) => f.file === `upd-${run}.ndjson`);
  assert.equal(mine.updated, 1);
  assert.equal(mine.unchanged, 1);
  assert.deepEqual(mine.bad, [{ line: 3, reason: 'malformed JSON' }]);
  const after = await get(`/api/v1/books/${id0}?include=tags`);
  assert.equal(after.headers.get('x-cache'), 'MISS');
  assert.equal(after.json.data.priceCents, 4242);
  assert.equal(after.json.data.title, 'Renamed');
  assert.deepEqual(after.json.data.tags.map((t) => t.name), ['solo']);
});

test('data.import: a bad header moves the file to failed/, a path in the name fails the job', async () => {
  const name = `bad-${crypto.randomUUID()}.csv`;
  fs.writeFileSync(path.join(IMPORT, name), 'isbn,title,color\n1,2,3\n');
  const r = (await completed('data.import', { file: name })).returnValue;
  assert.match(r.files[0].error, /unknown CSV column "color"/);
  assert.ok(r.files[0].movedTo.startsWith('failed/'));
  assert.ok(fs.existsSync(path.join(IMPORT, r.files[0].movedTo)));
  for (const file of ['../etc/passwd.csv', 'x.txt', 'missing-feed.csv']) {
    const job = await runJob('data.import', { file });
    assert.equal(job.state, 'failed', file);
    assert.ok(job.lastError, file);
  }
  const wrongType = await runJob('data.import', { file: 42 });
  assert.equal(wrongType.state, 'failed');
  assert.match(wrongType.lastError, /file must be a string/);
});

/* ---- ai.recommendations + data.sales_summary ---------------------------- */

async function createBook(title) {
  const res = await post('/api/v1/books', { title, author: 'Rec', priceCents: 1000, stock: 50 }, { token: admin });
  assert.equal(res.status, 201, res.text);
  return res.json.data.id;
}

test('ai.recommendations: co-purchases of sold orders, normalised, best first; sales summary per day', async () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const b = {};
  for (const k of ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'X']) b[k] = await createBook(`rec ${tag} ${k}`);
  const user = psql('SELECT id FROM users ORDER BY created_at LIMIT 1');
  // [books, final status path, quantity of A]
  const orders = [
    ['ABC', ['PAID']], ['AB', ['PAID'], 2], ['ABD', ['PAID']], ['AC', ['PAID']],
    ['AE', ['CANCELLED']], ['AX', ['PAID']], ['ADF', ['PAID', 'FULFILLING', 'SHIPPED']],
    ['AF', []], ['DG', ['PAID', 'FULFILLING', 'SHIPPED', 'DELIVERED']],
  ];
  for (const [books, path_, qtyA] of orders) {
    const lines = [...books].map((k) => `('${b[k]}'::bigint, ${k === 'A' && qtyA ? qtyA : 1})`).join(',');
    const id = psql(`WITH o AS (INSERT INTO orders (user_id, status, total_cents, currency) VALUES ('${user}', 'PAYMENT_PENDING', 0, 'CHF') RETURNING id),
          i AS (INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity)
                SELECT o.id, l.book, 'rec', 1000, l.q FROM o, (VALUES ${lines}) AS l(book, q))
          SELECT id FROM o`).split('\n')[0];
    for (const s of path_) psql(`UPDATE orders SET status = '${s}' WHERE id = '${id}'`);
  }
  assert.equal((await request('DELETE', `/api/v1/books/${b.X}`, { token: admin })).status, 204);

  const job = await completed('ai.recommendations');
  assert.ok(job.returnValue.rows >= 12, JSON.stringify(job.returnValue));
  const recs = async (k) => {
    const res = await get(`/api/v1/books/${b[k]}/recommendations`);
    assert.equal(res.status, 200, res.text);
    return res;
  };
  const ids = (res) => res.json.data.map((x) => x.id);
  // Ochiai scores: A: B 3/√18, C 2/√12, D 2/√18, F 1/√6 (raw counts would put D before C);
  // D: G and F 1/√3 (tie: higher id first), A 2/√18, B 1/√9 (raw counts would put A first).
  const a = await recs('A');
  assert.equal(a.headers.get('x-cache'), 'MISS');
  assert.deepEqual(ids(a), [b.B, b.C, b.D, b.F]);
  assert.equal((await recs('A')).headers.get('x-cache'), 'HIT');
  assert.deepEqual(ids(await recs('D')), [b.G, b.F, b.A, b.B]);
  assert.deepEqual(ids(await recs('B')), [b.A, b.C, b.D]);
  assert.deepEqual(ids(await recs('E')), [], 'cancelled orders are not sales');
  assertError(await get(`/api/v1/books/${b.X}/recommendations`), 404, 'NOT_FOUND');
  assertError(await get('/api/v1/books/999999999/recommendations'), 404, 'NOT_FOUND');
  assert.equal(psql(`SELECT count(*) FROM recommendations WHERE recommended_book_id = ${b.X} OR book_id = ${b.X}`), '0');

  // A deleted book leaves every list at once (the cached page dies with the write).
  assert.equal((await request('DELETE', `/api/v1/books/${b.C}`, { token: admin })).status, 204);
  assert.deepEqual(ids(await recs('A')), [b.B, b.D, b.F]);
  // A rerun rewrites the table and invalidates the cached pages.
  assert.equal((await recs('A')).headers.get('x-cache'), 'HIT');
  await completed('ai.recommendations');
  const fresh = await recs('A');
  assert.equal(fresh.headers.get('x-cache'), 'MISS');
  assert.deepEqual(ids(fresh), [b.B, b.D, b.F]);

  // Sales of today in CHF (only this test sells in CHF): 7 sold orders,
  // 18 units, 18000 cents; best seller A (7), then B and D (3, lower id first).
  const today = psql("SELECT (now() AT TIME ZONE 'UTC')::date::text");
  for (let i = 0; i < 2; i++) {
    const s = (await completed('data.sales_summary', { day: today })).returnValue;
    assert.equal(s.from, today);
    assert.equal(s.to, today);
  }
  assert.equal(psql(`SELECT count(*) FROM sales_daily WHERE day = '${today}' AND currency = 'CHF'`), '1');
  assert.equal(psql(`SELECT orders || ',' || units || ',' || revenue_cents FROM sales_daily WHERE day = '${today}' AND currency = 'CHF'`), '7,18,18000');
  const top = JSON.parse(psql(`SELECT top_books::text FROM sales_daily WHERE day = '${today}' AND currency = 'CHF'`));
  assert.deepEqual(top.slice(0, 4).map((t) => [t.bookId, t.units]), [[b.A, 7], [b.B, 3], [b.D, 3], [b.C, 2]]);
  const bad = await runJob('data.sales_summary', { day: '2026-02-30' });
  assert.equal(bad.state, 'failed');
  assert.match(bad.lastError, /real date/);
});

/* ---- cache.invalidate / cache.warm --------------------------------------- */

// How many of `keys` exist, one EXISTS each (on a Redis Cluster the keys'
// slots differ, and a multi-key EXISTS across slots is refused).
const existing = (...keys) => keys.reduce((n, k) => n + Number(redisCli('EXISTS', k)), 0);

test('cache.invalidate removes exactly the matching keys, over many SCAN pages', async () => {
  const t = crypto.randomUUID().slice(0, 8);
  redisCli('EVAL', "for i = 1, 2500 do redis.call('SET', ARGV[1] .. i, 'x') end", '0', `c:{inv-${t}}:v:`);
  redisCli('SET', `c:{inv-${t}}:gen`, 'g');
  redisCli('SET', `c:{inv-${t}x}:v:1`, 'keep');
  redisCli('SET', `c:{other-${t}}:v:1`, 'keep');
  redisCli('SET', `q:{inv-${t}}:v:1`, 'keep');
  const job = await completed('cache.invalidate', { pattern: `c:{inv-${t}}:*` });
  assert.equal(job.returnValue.removed, 2501);
  assert.equal(existing(`c:{inv-${t}}:gen`, `c:{inv-${t}}:v:1`, `c:{inv-${t}}:v:2500`), 0);
  assert.equal(existing(`c:{inv-${t}x}:v:1`, `c:{other-${t}}:v:1`, `q:{inv-${t}}:v:1`), 3);
  for (const pattern of ['q:*', '*', '', 'c:']) {
    const bad = await runJob('cache.invalidate', { pattern });
    assert.equal(bad.state, 'failed', pattern);
  }
  assert.equal(redisCli('EXISTS', `q:{inv-${t}}:v:1`), '1');
});

test('cache.warm loads the best sellers into the read cache: their first read is a HIT', async () => {
  const id = await createBook(`warm ${crypto.randomUUID().slice(0, 8)}`);
  const user = psql('SELECT id FROM users ORDER BY created_at LIMIT 1');
  psql(`WITH o AS (INSERT INTO orders (user_id, status, total_cents) VALUES ('${user}', 'PAYMENT_PENDING', 0) RETURNING id)
        INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity) SELECT o.id, ${id}, 'w', 1, 1000 FROM o`);
  psql(`UPDATE orders SET status = 'PAID' WHERE id = (SELECT order_id FROM order_items WHERE book_id = ${id})`);
  // 1000 units today: more than any other book sells in the test suite.
  redisCli('DEL', `c:{book:${id}}:gen`);
  const r = (await completed('cache.warm', { limit: 5, days: 1 })).returnValue;
  assert.equal(r.books, 5);
  assert.ok(r.warmed >= 1, JSON.stringify(r));
  const first = await get(`/api/v1/books/${id}`);
  assert.equal(first.headers.get('x-cache'), 'HIT');
  // The warmed body is the handler's own: invalidate, reload, compare.
  redisCli('DEL', `c:{book:${id}}:gen`);
  const miss = await get(`/api/v1/books/${id}`);
  assert.equal(miss.headers.get('x-cache'), 'MISS');
  assert.equal(miss.text, first.text);
});

/* ---- image.orphans ------------------------------------------------------- */

test('image.orphans removes old unreferenced files and rows whose file is gone, nothing else', async () => {
  const bookId = await createBook(`img ${crypto.randomUUID().slice(0, 8)}`);
  const hex = () => crypto.randomBytes(16).toString('hex');
  const media = (p) => path.join(VAR, p);
  fs.mkdirSync(media('media/originals'), { recursive: true });
  fs.mkdirSync(media('media/optimized'), { recursive: true });
  const old = new Date(Date.now() - 2 * 3600 * 1000);
  const oldOrphan = `/media/optimized/${hex()}-150x150.jpg`;
  const youngOrphan = `/media/originals/${hex()}.jpg`;
  const kept = `/media/originals/${hex()}.jpg`;
  const gone = `/media/originals/${hex()}.jpg`;
  for (const f of [oldOrphan, youngOrphan, kept]) fs.writeFileSync(media(f), 'x');
  for (const f of [oldOrphan, kept]) fs.utimesSync(media(f), old, old);
  const row = (p) => psql(`INSERT INTO images (book_id, status, content_type, original_path, created_at)
    VALUES (${bookId}, 'failed', 'image/jpeg', '${p}', now() - interval '2 hours') RETURNING id`).split('\n')[0];
  const keptId = row(kept);
  const goneId = row(gone);
  const r = (await completed('image.orphans', { graceS: 3600, stuckAfterS: 86400 })).returnValue;
  assert.ok(r.filesRemoved >= 1 && r.rowsRemoved >= 1, JSON.stringify(r));
  assert.ok(!fs.existsSync(media(oldOrphan)), 'old orphan removed');
  assert.ok(fs.existsSync(media(youngOrphan)), 'a file younger than the grace period stays');
  assert.ok(fs.existsSync(media(kept)), 'a referenced file stays');
  assert.equal(psql(`SELECT count(*) FROM images WHERE id = ${keptId}`), '1');
  assert.equal(psql(`SELECT count(*) FROM images WHERE id = ${goneId}`), '0');
  const bad = await runJob('image.orphans', { graceS: -1 });
  assert.equal(bad.state, 'failed');
  fs.rmSync(media(youngOrphan));
});

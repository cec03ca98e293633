// What one account can store in Redis through its cart (issue 18, item 2):
// a cart holds at most CART_MAX_LINES distinct books (a new one beyond is
// 409 CONFLICT naming `items` and changes nothing), a cart event carries the
// whole cart only while it is small (otherwise the change and the totals,
// flagged `partial`), and the user's event stream keeps about the newest
// 1000 events. Together: a full cart changed well over a thousand times
// leaves the user's keys far below a few MB (the memory is measured with
// MEMORY USAGE on the user's own keys, which other suites running at the
// same time do not move). Rules: docs/cart.md.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { request, get, post, assertError, redisCli, psql } from '../lib/client.mjs';
import { loginAdmin, registerUser } from '../lib/auth_helpers.mjs';

// The test stack runs with the default (scripts/stack sets none).
const MAX_LINES = Number(process.env.CART_MAX_LINES || 100);
// "A few MB": the user's stream at its cap of small events plus a full cart.
const USER_BUDGET_BYTES = 2 * 1024 * 1024;

let admin;
let seq = 0;

// `n` requests made by `make(i)`, `width` at a time (the stack has 2 cores).
async function inGroups(n, width, make) {
  const out = [];
  for (let i = 0; i < n; i += width) {
    out.push(...await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, k) => make(i + k))));
  }
  return out;
}

async function createBooks(n) {
  const stamp = Date.now();
  return inGroups(n, 10, async () => {
    const res = await post('/api/v1/books', { title: `Bounds ${stamp}-${++seq} a title of a usual length`, author: 'B', priceCents: 250, stock: 50 }, { token: admin.accessToken });
    assert.equal(res.status, 201, res.text);
    return res.json.data;
  });
}

const cartOf = (u) => get('/api/v1/cart', { token: u.accessToken });
const setItem = (u, bookId, quantity) => post('/api/v1/cart/items', { bookId, quantity }, { token: u.accessToken });
const streamKey = (u) => `{u:${u.user.id}}:events`;
const eventCount = (u) => Number(redisCli('XLEN', streamKey(u)));
// Exact size of one key (SAMPLES 0: every element), 0 when it does not exist.
const memoryOf = (key) => Number(redisCli('MEMORY', 'USAGE', key, 'SAMPLES', '0') || 0);
const userBytes = (u) => memoryOf(`{u:${u.user.id}}:cart`) + memoryOf(streamKey(u));
// The newest entries' data, parsed (redis-cli raw: id, "event", name, "data", JSON).
function lastEvents(u, count) {
  const out = redisCli('XREVRANGE', streamKey(u), '+', '-', 'COUNT', String(count)).split('\n');
  const list = [];
  for (let i = 0; i + 4 < out.length; i += 5) list.push({ id: out[i], event: out[i + 2], raw: out[i + 4], data: JSON.parse(out[i + 4]) });
  return list.reverse();
}

let books;
let full; // a user whose cart holds MAX_LINES lines
before(async () => {
  admin = await loginAdmin();
  books = await createBooks(MAX_LINES + 1);
  full = await registerUser('bounds');
  const results = await inGroups(MAX_LINES, 10, (i) => setItem(full, books[i].id, 1));
  for (const r of results) assert.equal(r.status, 200, r.text);
});

test(`a cart holds at most ${MAX_LINES} lines: a new book beyond is 409 CONFLICT naming items and changes nothing`, async () => {
  const before = (await cartOf(full)).json.data;
  assert.equal(before.items.length, MAX_LINES);
  const events = eventCount(full);

  const err = assertError(await setItem(full, books[MAX_LINES].id, 1), 409, 'CONFLICT');
  assert.deepEqual(err.details.map((d) => d.field), ['items']);
  assert.match(err.message, new RegExp(`\\b${MAX_LINES}\\b`), 'the message names the limit');

  const after = (await cartOf(full)).json.data;
  assert.deepEqual(after, before, 'the cart is unchanged');
  assert.equal(eventCount(full), events, 'no event for a refused change');

  // A line already in the cart still changes, and one removed frees a place.
  let res = await setItem(full, books[0].id, 3);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.items.length, MAX_LINES);
  assert.equal(res.json.data.items.find((i) => i.bookId === books[0].id).quantity, 3);
  res = await request('DELETE', `/api/v1/cart/items/${books[1].id}`, { token: full.accessToken });
  assert.equal(res.status, 200, res.text);
  res = await setItem(full, books[MAX_LINES].id, 1);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.items.length, MAX_LINES);
  assertError(await setItem(full, books[1].id, 1), 409, 'CONFLICT');
});

test('concurrent new books never take a cart past the limit', async () => {
  const u = await registerUser('bounds');
  // MAX_LINES - 5 lines first, then 6 new books at once: exactly 5 fit.
  await inGroups(MAX_LINES - 5, 10, (i) => setItem(u, books[i].id, 1));
  const results = await Promise.all(books.slice(MAX_LINES - 5).map((b) => setItem(u, b.id, 1)));
  assert.equal(results.length, 6);
  assert.equal(results.filter((r) => r.status === 200).length, 5);
  for (const r of results.filter((x) => x.status !== 200)) assertError(r, 409, 'CONFLICT');
  assert.equal((await cartOf(u)).json.data.items.length, MAX_LINES);
});

test('a durable copy bigger than the limit is rebuilt with the first lines only, without failing', async () => {
  // A copy written before the limit (or under a higher one): MAX_LINES + 1
  // lines in Postgres, no cart in Redis yet (this user never touched it).
  const u = await registerUser('bounds');
  psql(`INSERT INTO carts (user_id, version, updated_at) VALUES ('${u.user.id}', 7, now())`);
  psql(`INSERT INTO cart_items (user_id, book_id, quantity) SELECT '${u.user.id}', x, 1 FROM unnest('{${books.map((b) => b.id).join(',')}}'::bigint[]) x`);
  const res = await cartOf(u);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.data.version, 7);
  const byId = [...books].sort((a, b) => Number(a.id) - Number(b.id));
  assert.deepEqual(res.json.data.items.map((i) => i.bookId), byId.slice(0, MAX_LINES).map((b) => b.id));
  assertError(await setItem(u, byId[MAX_LINES].id, 1), 409, 'CONFLICT');
  assert.equal((await setItem(u, byId[0].id, 2)).status, 200);
});

test('a full cart changed 1,200 times keeps the user under a few MB of Redis, and its events still tell the change', async () => {
  const u = full;
  const changes = 1200;
  const results = await inGroups(changes, 20, (i) => setItem(u, books[2 + (i % 90)].id, 1 + (i % 2)));
  for (const r of results) assert.equal(r.status, 200, r.text);

  const bytes = userBytes(u);
  assert.ok(bytes < USER_BUDGET_BYTES, `the user's cart and event stream hold ${bytes} bytes`);
  const kept = eventCount(u);
  assert.ok(kept >= 1000, `at least the newest 1000 events are kept for resume (${kept})`);
  assert.ok(kept < 1200, `the stream is trimmed to about 1000 events (${kept})`);

  // A full cart is too big to ride in every event: the event carries the
  // line that changed, the version and the totals, and tells the client to
  // re-fetch GET /cart for the rest.
  const cart = (await cartOf(u)).json.data;
  const [last] = lastEvents(u, 1);
  assert.equal(last.event, 'cart.item_updated');
  assert.equal(last.data.partial, true);
  assert.equal(last.data.cart, undefined);
  assert.equal(last.data.version, cart.version);
  assert.equal(last.data.totalCents, cart.totalCents);
  assert.equal(last.data.currency, cart.currency);
  assert.equal(last.data.updatedAt, cart.updatedAt);
  assert.equal(last.data.itemCount, cart.items.length);
  const line = cart.items.find((i) => i.bookId === last.data.bookId);
  assert.deepEqual(last.data.item, line);
  assert.equal(last.data.quantity, line.quantity);
  for (const e of lastEvents(u, 50)) assert.ok(Buffer.byteLength(e.raw) <= 4096, `event data of ${Buffer.byteLength(e.raw)} bytes`);
});

test('a small cart still rides whole in its events; the cart drops to the change form only past the size bound', async () => {
  const u = await registerUser('bounds');
  let res = await setItem(u, books[0].id, 2);
  assert.equal(res.status, 200, res.text);
  let [ev] = lastEvents(u, 1);
  assert.equal(ev.data.partial, undefined);
  assert.deepEqual(ev.data.cart, (({ adjusted, ...c }) => c)(res.json.data));

  // Lines until the cart's JSON passes the bound, then back under it.
  let i = 1;
  while (JSON.stringify((await cartOf(u)).json.data).length <= 2048) {
    res = await setItem(u, books[i++].id, 1);
    assert.equal(res.status, 200, res.text);
  }
  [ev] = lastEvents(u, 1);
  assert.equal(ev.data.partial, true);
  res = await request('DELETE', `/api/v1/cart/items/${books[i - 1].id}`, { token: u.accessToken });
  assert.equal(res.status, 200, res.text);
  [ev] = lastEvents(u, 1);
  assert.equal(ev.event, 'cart.item_removed');
  assert.equal(ev.data.bookId, books[i - 1].id);
  assert.deepEqual(ev.data.cart, res.json.data);
  res = await request('DELETE', '/api/v1/cart', { token: u.accessToken });
  [ev] = lastEvents(u, 1);
  assert.deepEqual(ev.data, { cart: res.json.data });
});

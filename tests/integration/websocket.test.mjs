// bazaar-ws (API.md section 6, issue 8) against the real test stack: nginx's
// /ws and the two bazaar-ws processes directly (WS_PORT and WS_PORT+1),
// events emitted through Redis by the product's own script or by REST.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { PORT, get, post, waitFor } from '../lib/client.mjs';
import { loginAdmin, registerUser, signJwt } from '../lib/auth_helpers.mjs';
import {
  NGINX_WS, directWs, userToken, connect, handshakeStatus, Resp, emit, emitTo, metric, sleep, closeAll,
} from '../lib/ws_helpers.mjs';

const resp = new Resp();
test.after(() => { resp.close(); closeAll(); });

// The raw HTTP answer to an upgrade request through nginx.
function upgradeRequest(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: PORT, path, headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), ...headers,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: 101, body: '' }); });
    req.on('error', reject);
    req.end();
  });
}

test('handshake: 401 without a token, with a bad or expired one; the body is the API error', async () => {
  const user = crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const bad = [
    undefined,
    'garbage',
    signJwt({ sub: user, role: 'user', iat: now, exp: now + 600 }, { secret: 'another-secret-of-at-least-32-bytes!!' }),
    signJwt({ sub: user, role: 'user', iat: now, exp: now + 600 }, { alg: 'none' }),
    userToken(user, { expOffsetS: -5 }),
  ];
  for (const token of bad) {
    assert.equal(await handshakeStatus(NGINX_WS, { token }), 401, `token ${token}`);
    assert.equal(await handshakeStatus(directWs(1), { token }), 401, `direct, token ${token}`);
    assert.equal(await handshakeStatus(NGINX_WS, { cookie: token ? `accessToken=${token}` : undefined }), 401);
  }
  const res = await upgradeRequest('/ws?token=garbage');
  assert.equal(res.status, 401);
  const body = JSON.parse(res.body);
  assert.equal(body.success, false);
  assert.equal(body.error.code, 'UNAUTHENTICATED');
});

test('handshake: a foreign Origin gets 403, the stack\'s own origin and no Origin are accepted', async () => {
  const token = userToken();
  assert.equal(await handshakeStatus(NGINX_WS, { token, origin: 'https://evil.example' }), 403);
  assert.equal(await handshakeStatus(NGINX_WS, { token, origin: 'null' }), 403);
  const res = await upgradeRequest(`/ws?token=${token}`, { Origin: `http://127.0.0.1:${Number(PORT) + 1}` });
  assert.equal(res.status, 403);
  assert.equal(JSON.parse(res.body).error.code, 'FORBIDDEN');
  assert.equal(await handshakeStatus(NGINX_WS, { token, origin: `http://127.0.0.1:${PORT}` }), 101);
  assert.equal(await handshakeStatus(NGINX_WS, { token, origin: `http://localhost:${PORT}` }), 101);
  assert.equal(await handshakeStatus(NGINX_WS, { cookie: `theme=dark; accessToken=${token}` }), 101);
});

test('ping → pong through nginx, with the cookie', async () => {
  const c = await connect(NGINX_WS, { cookie: `accessToken=${userToken()}` });
  const pong = await c.reply({ type: 'ping' }, (m) => m.type === 'pong');
  assert.deepEqual(pong, { type: 'pong' });
  c.close();
});

test('an event reaches every socket of its user on both processes, and no one else', async () => {
  const a = crypto.randomUUID();
  const b = crypto.randomUUID();
  const a0 = await connect(directWs(0), { token: userToken(a) });
  const a1 = await connect(directWs(1), { token: userToken(a) });
  const a1bis = await connect(directWs(1), { token: userToken(a) });
  const b0 = await connect(directWs(0), { token: userToken(b) });
  const b1 = await connect(directWs(1), { token: userToken(b) });
  const [idA] = await emit(resp, a, 'cart.item_updated', () => ({ bookId: '7', quantity: 2 }));
  for (const c of [a0, a1, a1bis]) {
    const ev = await c.next((m) => m.id === idA, `event ${idA}`);
    assert.equal(ev.event, 'cart.item_updated');
    assert.deepEqual(ev.data, { bookId: '7', quantity: 2 });
    assert.match(ev.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  // One subscriber connection delivers in publish order: once B has its own
  // later event, A's event would have arrived before it.
  const [idB] = await emit(resp, b, 'cart.cleared', () => ({}));
  for (const c of [b0, b1]) {
    await c.next((m) => m.id === idB);
    assert.deepEqual(c.events.map((e) => e.id), [idB], 'another user\'s event reached B');
  }
  for (const c of [a0, a1, a1bis, b0, b1]) c.close();
});

test('admins also get the role:admin room (image.ready); users do not', async () => {
  const userId = crypto.randomUUID();
  const admin = await connect(directWs(1), { token: userToken(crypto.randomUUID(), { role: 'admin' }) });
  const user = await connect(directWs(1), { token: userToken(userId) });
  const [id] = await emitTo(resp, '{role:admin}:events', 'image.ready', () => ({ imageId: '9' }));
  const ev = await admin.next((m) => m.id === id, 'image.ready');
  assert.deepEqual(ev.data, { imageId: '9' });
  const [own] = await emit(resp, userId, 'cart.cleared', () => ({}));
  await user.next((m) => m.id === own);
  assert.deepEqual(user.events.map((e) => e.id), [own]);
  admin.close();
  user.close();
});

test('REST change → cart.item_updated on two processes, not on another user\'s socket', async () => {
  const user = await registerUser('wscart');
  const other = await registerUser('wsother');
  // A book of its own: the newest one of the catalog may be sold out by
  // another suite.
  const admin = await loginAdmin();
  const book = await post('/api/v1/books', { title: `ws ${Date.now()}`, author: 'W', priceCents: 500, stock: 10 }, { token: admin.accessToken });
  assert.equal(book.status, 201, book.text);
  const bookId = book.json.data.id;
  const s0 = await connect(directWs(0), { token: user.accessToken });
  const s1 = await connect(directWs(1), { token: user.accessToken });
  const o0 = await connect(directWs(0), { token: other.accessToken });
  const o1 = await connect(directWs(1), { token: other.accessToken });
  const res = await post('/api/v1/cart/items', { bookId, quantity: 1 }, { token: user.accessToken });
  assert.equal(res.status, 200, res.text);
  for (const s of [s0, s1]) {
    const ev = await s.next((m) => m.event === 'cart.item_updated', 'cart.item_updated');
    assert.equal(ev.data.bookId, bookId);
  }
  const [own] = await emit(resp, other.user.id, 'cart.cleared', () => ({}));
  for (const o of [o0, o1]) {
    await o.next((m) => m.id === own);
    assert.deepEqual(o.events.map((e) => e.id), [own]);
  }
  for (const c of [s0, s1, o0, o1]) c.close();
});

test('resume after a disconnect during which 50 events happened: exactly those, in order, then live', async () => {
  const u = crypto.randomUUID();
  const first = await connect(NGINX_WS, { token: userToken(u) });
  const [seen] = await emit(resp, u, 'cart.item_updated', () => ({ n: 0 }));
  await first.next((m) => m.id === seen);
  first.close();
  await first.until('close', () => first.closed);
  const missed = await emit(resp, u, 'cart.item_updated', (i) => ({ n: i + 1 }), 50);
  const again = await connect(directWs(1), { token: userToken(u) });
  again.send({ type: 'resume', lastEventId: seen });
  await again.until('50 replayed events', () => again.events.length >= 50);
  assert.deepEqual(again.events.map((e) => e.id), missed);
  assert.deepEqual(again.events.map((e) => e.data.n), Array.from({ length: 50 }, (_, i) => i + 1));
  const [live] = await emit(resp, u, 'cart.cleared', () => ({}));
  await again.next((m) => m.id === live);
  assert.deepEqual(again.events.map((e) => e.id), [...missed, live]);
  again.close();
});

test('resume while events keep arriving: no duplicate, no gap (several pages)', async () => {
  const u = crypto.randomUUID();
  const first = await connect(directWs(0), { token: userToken(u) });
  const [seen] = await emit(resp, u, 'cart.item_updated', () => ({ n: 0 }));
  await first.next((m) => m.id === seen);
  first.terminate();
  const before = await emit(resp, u, 'cart.item_updated', (i) => ({ n: i + 1 }), 350);
  const c = await connect(directWs(0), { token: userToken(u) });
  c.send({ type: 'resume', lastEventId: seen });
  await c.until('the replay to start', () => c.events.length > 0);
  const during = [];
  const emitter = (async () => {
    for (let batch = 0; batch < 30; batch++) {
      during.push(...await emit(resp, u, 'cart.item_updated', (i) => ({ n: 1000 + batch * 10 + i }), 10));
      await sleep(5);
    }
  })();
  await emitter;
  const all = [...before, ...during];
  await c.until(`${all.length} events`, () => c.events.length >= all.length);
  // A pong comes after every frame queued before it: a duplicate would be here.
  await c.reply({ type: 'ping' }, (f) => f.type === 'pong');
  assert.equal(c.events.length, all.length);
  assert.deepEqual(c.events.map((e) => e.id), all);
  c.close();
});

test('resume_failed for an unknown or too old id; malformed resume gets an error; the socket stays usable', async () => {
  const u = crypto.randomUUID();
  const c = await connect(NGINX_WS, { token: userToken(u) });
  let m = await c.reply({ type: 'resume', lastEventId: '1-0' }, (f) => f.type === 'resume_failed');
  assert.match(m.reason, /unknown|no events/);
  const ids = await emit(resp, u, 'cart.cleared', () => ({}), 3);
  await c.until('3 events', () => c.events.length >= 3);
  m = await c.reply({ type: 'resume', lastEventId: '1-0' }, (f) => f.type === 'resume_failed');
  assert.match(m.reason, /older than the kept history/);
  m = await c.reply({ type: 'resume', lastEventId: '99999999999999-0' }, (f) => f.type === 'resume_failed');
  assert.match(m.reason, /unknown event id/);
  const [a, b] = ids;
  const [bm, bs] = b.split('-').map(Number);
  const hole = `${bm}-${bs + 1000}`;
  m = await c.reply({ type: 'resume', lastEventId: hole }, (f) => f.type === 'resume_failed');
  assert.match(m.reason, /unknown event id/);
  m = await c.reply({ type: 'resume', lastEventId: 'abc' }, (f) => f.type === 'error');
  assert.match(m.reason, /event id/);
  await c.reply({ type: 'ping' }, (f) => f.type === 'pong');
  assert.deepEqual(c.events.map((e) => e.id), ids, 'failed resumes sent events');
  // A resume on this socket sends nothing it already has; on a new socket,
  // what followed `a`.
  c.send({ type: 'resume', lastEventId: a });
  await c.reply({ type: 'ping' }, (f) => f.type === 'pong');
  const d = await connect(directWs(1), { token: userToken(u) });
  d.send({ type: 'resume', lastEventId: a });
  await d.until('replay', () => d.events.length >= 2);
  await d.reply({ type: 'ping' }, (f) => f.type === 'pong');
  assert.deepEqual(d.events.map((e) => e.id), ids.slice(1));
  await c.reply({ type: 'ping' }, (f) => f.type === 'pong');
  assert.deepEqual(c.events.map((e) => e.id), ids, 'a resume re-sent what the socket had');
  c.close();
  d.close();
});

test('hostile frames get error frames or a close code, never a dead process', async () => {
  const u = crypto.randomUUID();
  const c = await connect(directWs(0), { token: userToken(u) });
  for (const bad of ['{"type":1}', '{', '[]', '"ping"', '{"type":"ping","x":1}', '{"type":"nope"}', '\u0000', '{"type":"auth","token":5}']) {
    const m = await c.reply(bad, (f) => f.type === 'error');
    assert.equal(typeof m.reason, 'string', bad);
  }
  const bin = await c.reply(Buffer.from([1, 2, 3]), (f) => f.type === 'error');
  assert.match(bin.reason, /text/);
  // A fragmented message is reassembled.
  const frag = c.next((f) => f.type === 'pong', 'pong to a fragmented ping', c.frames.length);
  c.ws.send('{"type":', { fin: false, binary: false });
  c.ws.send('"ping"}', { fin: true, binary: false });
  await frag;
  // 10,000 pings in one burst: every pong comes back, the socket stays open.
  const start = c.frames.length;
  for (let i = 0; i < 10000; i++) c.send('{"type":"ping"}');
  await c.until('10,000 pongs', () => c.frames.length - start >= 10000, 60000);
  assert.ok(c.frames.slice(start).every((f) => f.type === 'pong'));
  assert.equal(c.closed, null);
  c.close();

  // Invalid UTF-8 in a text frame: closed with 1007 (RFC 6455).
  const u8 = await connect(directWs(0), { token: userToken(u) });
  u8.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  await u8.until('close', () => u8.closed);
  assert.equal(u8.closed.code, 1007);

  // 10 MB: closed with 1009.
  const big = await connect(NGINX_WS, { token: userToken(u) });
  big.send(`{"type":"ping","pad":"${'x'.repeat(10 * 1024 * 1024)}"}`);
  await big.until('close', () => big.closed, 30000);
  assert.equal(big.closed.code, 1009);

  // Both processes still serve.
  for (const url of [directWs(0), directWs(1), NGINX_WS]) (await connect(url, { token: userToken() })).close();
});

test('a client that stops reading is closed (1013) while a normal client of the same user keeps receiving', async () => {
  const u = crypto.randomUUID();
  const normal = await connect(directWs(0), { token: userToken(u) });
  const slow = await connect(directWs(0), { token: userToken(u) });
  const closesBefore = await metric('bazaar_ws_slow_reader_closes_total');
  slow.ws._socket.pause();  // stops reading: kernel buffers, then the server's queue fill up
  // (under 4 KiB: a live event's data above it is stored and sent as its
  // scalars only, lua/lib/live_events.lua)
  // How much the kernel buffers between the server and a paused reader
  // depends on the host (loopback or a veth pair, TCP autotuning): events
  // are sent until the server's bounded queue overflows and it counts the
  // close, however many that takes (each batch also reaches the normal client).
  const pad = 'x'.repeat(3500);
  const ids = [];
  const closed = async () => await metric('bazaar_ws_slow_reader_closes_total') > closesBefore;
  for (let batch = 0; batch < 600 && !(batch >= 20 && await closed()); batch++) {
    ids.push(...await emit(resp, u, 'cart.item_updated', (i) => ({ n: batch * 50 + i, pad }), 50));
    await normal.until(`batch ${batch}`, () => normal.events.length >= ids.length);
  }
  assert.deepEqual(normal.events.map((e) => e.id), ids, 'the normal client missed or reordered events');
  assert.equal(normal.closed, null);
  await waitFor('the slow-reader close counted', closed);
  assert.ok(await metric('bazaar_ws_dropped_total') > 0);
  slow.ws._socket.resume();
  await slow.until('slow client closed', () => slow.closed, 30000);
  assert.ok([1013, 1006].includes(slow.closed.code), `close code ${slow.closed.code}`);
  assert.ok(slow.events.length < ids.length);
  normal.close();
});

test('an expiring token closes the socket with 4001 unless it re-authenticates', async () => {
  const u = crypto.randomUUID();
  const short = await connect(directWs(0), { token: userToken(u, { ttlS: 2 }) });
  await short.until('4001', () => short.closed, 10000);
  assert.equal(short.closed.code, 4001);

  const c = await connect(directWs(1), { token: userToken(u, { ttlS: 2 }) });
  let m = await c.reply({ type: 'auth', token: 'garbage' }, (f) => f.type === 'error');
  assert.match(m.reason, /invalid or expired/);
  m = await c.reply({ type: 'auth', token: userToken(crypto.randomUUID()) }, (f) => f.type === 'error');
  assert.match(m.reason, /another user/);
  m = await c.reply({ type: 'auth', token: userToken(u, { ttlS: 600 }) }, (f) => f.type === 'auth_ok');
  assert.ok(m.expiresAt > Date.now() / 1000 + 500);
  await sleep(3500);  // past the first token's expiry
  await c.reply({ type: 'ping' }, (f) => f.type === 'pong');
  assert.equal(c.closed, null);
  c.close();
});

test('/metrics shows WebSocket connections, messages out, drops and slow-reader closes per process', async () => {
  const c = await connect(directWs(1), { token: userToken() });
  const res = await fetch(`http://127.0.0.1:${PORT}/metrics`);
  const text = await res.text();
  for (const name of ['bazaar_ws_connections', 'bazaar_ws_messages_out_total', 'bazaar_ws_dropped_total',
    'bazaar_ws_slow_reader_closes_total', 'bazaar_ws_refused_unauthorized_total', 'bazaar_ws_redis_reconnects_total']) {
    assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'));
  }
  assert.match(text, /^bazaar_ws_connections\{process="ws-\d+"\} [1-9]/m);
  assert.ok(await metric('bazaar_ws_messages_out_total') > 0);
  c.close();
});

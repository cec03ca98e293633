// bazaar-ws and the per-user "not before" stamp (issue 7): a logout, a
// password reset or a refresh-token theft ends every access token issued
// before it, on sockets too. A socket opened with such a token is accepted,
// gets nothing, and is closed with 4001; a socket already open is closed
// with 4001 by the `session.revoked` control message the revocation
// publishes on the user's channel (never forwarded to a client); a token
// issued after the revocation keeps working.
//
// Issue 18, item 10: through nginx (the public edge) such a token is refused
// at the handshake with a JSON 401, as are tokens of users that do not
// exist and tokens issued in the future (those are refused by bazaar-ws
// itself too); one user holds at most WS_MAX_SOCKETS_PER_USER sockets per
// bazaar-ws process (429 at the handshake).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { post, get, PORT, assertError } from '../lib/client.mjs';
import { registerUser, login, signJwt } from '../lib/auth_helpers.mjs';
import { NGINX_WS, WS_PORT, directWs, Client, connect, handshakeStatus, Resp, emit, closeAll } from '../lib/ws_helpers.mjs';

const resp = new Resp();
test.after(() => { resp.close(); closeAll(); });

async function logout(token) {
  const res = await post('/api/v1/auth/logout', undefined, { token });
  assert.equal(res.status, 204, res.text);
}

// The raw answer to a WebSocket handshake: {status, json} (json when the
// handshake is refused with a body).
function handshake(port, query, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port, path: `/ws${query}`, agent: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': crypto.randomBytes(16).toString('base64'), ...headers },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode }); });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('handshake timed out')));
    req.end();
  });
}

function assertJsonRefusal(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers['content-type'], /^application\/json/);
  assert.equal(res.json?.success, false, res.text);
  assert.equal(res.json.error.code, code, res.text);
}

test('after logout the old token is refused 401 at the nginx handshake; bazaar-ws itself closes it with 4001 before any frame', async () => {
  const u = await registerUser('wsnbf');
  await logout(u.accessToken);
  assertJsonRefusal(await handshake(PORT, `?token=${u.accessToken}`), 401, 'UNAUTHENTICATED');
  assertJsonRefusal(await handshake(PORT, '', { Cookie: `accessToken=${u.accessToken}` }), 401, 'UNAUTHENTICATED');
  assert.equal(await handshakeStatus(NGINX_WS, { token: u.accessToken }), 401);
  // A process reached without nginx cannot wait for Redis before it upgrades:
  // it accepts, writes nothing, and closes with 4001 once the stamp is read.
  for (const url of [directWs(0), directWs(1)]) {
    const c = new Client(url, { token: u.accessToken });
    await c.opened();
    c.send({ type: 'ping' });  // held: nothing is written before the stamp was read
    await c.until('close 4001', () => c.closed);
    assert.equal(c.closed.code, 4001, url);
    assert.deepEqual(c.frames, [], `${url} sent frames to a revoked session`);
  }
  // The cookie path is checked the same way.
  const c = new Client(directWs(0), { cookie: `accessToken=${u.accessToken}` });
  await c.opened();
  await c.until('close 4001', () => c.closed);
  assert.equal(c.closed.code, 4001);
});

test('logout closes the user\'s open sockets on every process with 4001; newer tokens and other users stay', async () => {
  const u = await registerUser('wsnbf');
  const other = await registerUser('wsnbf');
  const old = [await connect(directWs(0), { token: u.accessToken }), await connect(directWs(1), { token: u.accessToken }),
    await connect(NGINX_WS, { token: u.accessToken })];
  const bystander = await connect(directWs(0), { token: other.accessToken });

  // A token issued before the logout too, from a second login (another device).
  const second = await login(u.email, u.password);
  const secondSocket = await connect(directWs(1), { token: second.accessToken });

  await logout(u.accessToken);
  for (const c of [...old, secondSocket]) {
    await c.until('close 4001', () => c.closed);
    assert.equal(c.closed.code, 4001);
    assert.equal(c.frames.some((f) => f.control !== undefined || f.notBefore !== undefined), false,
      'the control message reached a client');
  }

  // A login after the logout gets a working socket that receives events.
  const fresh = await login(u.email, u.password);
  const now = await connect(directWs(0), { token: fresh.accessToken });
  const [id] = await emit(resp, u.user.id, 'cart.cleared', () => ({}));
  await now.next((m) => m.id === id, `event ${id}`);
  assert.equal(now.closed, null);

  await bystander.reply({ type: 'ping' }, (m) => m.type === 'pong');
  assert.equal(bystander.closed, null);
  now.close();
  bystander.close();
});

test('re-authentication with a revoked token is refused; a fresh token is accepted', async () => {
  const u = await registerUser('wsnbf');
  const first = await login(u.email, u.password);
  await logout(u.accessToken);  // revokes `first` too
  const fresh = await login(u.email, u.password);
  const c = await connect(directWs(1), { token: fresh.accessToken });
  let m = await c.reply({ type: 'auth', token: first.accessToken }, (f) => f.type === 'error' || f.type === 'auth_ok');
  assert.equal(m.type, 'error');
  assert.match(m.reason, /session has ended/);
  m = await c.reply({ type: 'auth', token: (await login(u.email, u.password)).accessToken },
    (f) => f.type === 'error' || f.type === 'auth_ok');
  assert.equal(m.type, 'auth_ok');
  assert.equal(c.closed, null);
  c.close();
});

test('a replayed refresh token (theft) closes the user\'s sockets with 4001', async () => {
  const u = await registerUser('wsnbf');
  const c = await connect(directWs(0), { token: u.accessToken });
  const first = await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken });
  assert.equal(first.status, 200, first.text);
  const after = await connect(directWs(1), { token: first.json.data.accessToken });
  const second = await post('/api/v1/auth/refresh', { refreshToken: first.json.data.refreshToken });
  assert.equal(second.status, 200, second.text);
  // The first token again, its successor already spent: not a retry but a
  // replay of a stolen token, so every session of the user ends.
  const replay = await post('/api/v1/auth/refresh', { refreshToken: u.refreshToken });
  assert.equal(replay.status, 401, replay.text);
  for (const s of [c, after]) {
    await s.until('close 4001', () => s.closed);
    assert.equal(s.closed.code, 4001);
  }
});

test('a validly signed token of a user that does not exist is refused 401 at the handshake', async () => {
  const now = Math.floor(Date.now() / 1000);
  const ghost = signJwt({ sub: crypto.randomUUID(), role: 'user', iat: now, exp: now + 600 });
  assertJsonRefusal(await handshake(PORT, `?token=${ghost}`), 401, 'UNAUTHENTICATED');
  assertJsonRefusal(await handshake(PORT, '', { Cookie: `accessToken=${ghost}` }), 401, 'UNAUTHENTICATED');
  // A real user's token passes the same check, by query and by cookie.
  const u = await registerUser('wsreal');
  assert.equal(await handshakeStatus(NGINX_WS, { token: u.accessToken }), 101);
  assert.equal(await handshakeStatus(NGINX_WS, { cookie: `accessToken=${u.accessToken}` }), 101);
});

test('a token issued in the future is refused: 401 at every handshake and on the REST API', async () => {
  const u = await registerUser('wsiat');
  const now = Math.floor(Date.now() / 1000);
  const future = signJwt({ sub: u.user.id, role: 'user', iat: now + 3600, exp: now + 4000 });
  const futureMs = signJwt({ sub: u.user.id, role: 'user', iat: now, iat_ms: (now + 3600) * 1000, exp: now + 600 });
  for (const token of [future, futureMs]) {
    assertJsonRefusal(await handshake(PORT, `?token=${token}`), 401, 'UNAUTHENTICATED');
    for (const port of [WS_PORT, WS_PORT + 1]) assertJsonRefusal(await handshake(port, `?token=${token}`), 401, 'UNAUTHENTICATED');
    assertError(await get('/api/v1/auth/profile', { token }), 401, 'UNAUTHENTICATED');
  }
  // Within the allowed clock skew (60 s) a token is fine.
  const skewed = signJwt({ sub: u.user.id, role: 'user', iat: now + 30, exp: now + 600 });
  assert.equal((await get('/api/v1/auth/profile', { token: skewed })).status, 200);
  assert.equal(await handshakeStatus(directWs(0), { token: skewed }), 101);
});

test('one user holds at most WS_MAX_SOCKETS_PER_USER sockets per process: the next is 429 at the handshake', async () => {
  const limit = Number(process.env.WS_MAX_SOCKETS_PER_USER || 16);
  const u = await registerUser('wsmax');
  const other = await registerUser('wsmax');
  const mine = [];
  for (let i = 0; i < limit; i++) mine.push(await connect(directWs(0), { token: u.accessToken }));
  assertJsonRefusal(await handshake(WS_PORT, `?token=${u.accessToken}`), 429, 'RATE_LIMITED');
  // The limit is the user's, per process: another user, or the other process, still opens.
  (await connect(directWs(0), { token: other.accessToken })).close();
  (await connect(directWs(1), { token: u.accessToken })).close();
  // Closing one socket frees its slot (poll: the server learns of the close asynchronously).
  mine.pop().close();
  const deadline = Date.now() + 10000;
  let status;
  while (Date.now() < deadline && (status = await handshakeStatus(directWs(0), { token: u.accessToken })) !== 101)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal(status, 101);
  for (const c of mine) c.close();
});

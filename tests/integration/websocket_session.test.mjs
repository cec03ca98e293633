// bazaar-ws and the per-user "not before" stamp (issue 7): a logout, a
// password reset or a refresh-token theft ends every access token issued
// before it, on sockets too. A socket opened with such a token is accepted,
// gets nothing, and is closed with 4001; a socket already open is closed
// with 4001 by the `session.revoked` control message the revocation
// publishes on the user's channel (never forwarded to a client); a token
// issued after the revocation keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { post } from '../lib/client.mjs';
import { registerUser, login } from '../lib/auth_helpers.mjs';
import { NGINX_WS, directWs, Client, connect, Resp, emit, closeAll } from '../lib/ws_helpers.mjs';

const resp = new Resp();
test.after(() => { resp.close(); closeAll(); });

async function logout(token) {
  const res = await post('/api/v1/auth/logout', undefined, { token });
  assert.equal(res.status, 204, res.text);
}

test('after logout, a new socket with the old token is closed with 4001 before any frame', async () => {
  const u = await registerUser('wsnbf');
  await logout(u.accessToken);
  for (const url of [NGINX_WS, directWs(0), directWs(1)]) {
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

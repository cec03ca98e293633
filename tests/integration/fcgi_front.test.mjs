// Issue 12: the event-driven FastCGI front (fcgi/server.hpp). Talks FastCGI
// to the bazaar-fcgi unix sockets directly (tests/lib/fcgi_client.mjs) where
// nginx would hide what is tested, and goes through nginx for the kept
// connections.
//
// - several requests on one kept connection, with and without FCGI_KEEP_CONN;
// - a connection that sent half a request (half the params, or the params
//   and half the body) and stalls does not hold back other connections; the
//   stalled request is answered once its rest arrives;
// - bytes that are not FastCGI close that connection only;
// - SIGTERM: the request in flight is answered, idle kept connections are
//   closed, the process exits and its supervisor starts it again;
// - 1,000 concurrent requests through nginx become 1,000 kept upstream
//   connections (the test stack runs nginx with keepalive 1024), all
//   answered, and a second wave over the kept connections too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, readdirSync, readlinkSync, existsSync } from 'node:fs';
import { FcgiConnection, encodeRequest } from '../lib/fcgi_client.mjs';
import { get, waitFor, PORT } from '../lib/client.mjs';

const VAR = process.env.BAZAAR_VAR_DIR;
const sock = (i) => `${VAR}/run/fcgi-${i}.sock`;
const pidOf = (i) => Number(readFileSync(`${VAR}/run/fcgi-${i}.pid`, 'utf8').trim());
const PING = { success: true, data: { pong: true } };

test('several requests on one kept connection, then one without FCGI_KEEP_CONN closes it', async () => {
  const c = await FcgiConnection.open(sock(0));
  try {
    for (let i = 0; i < 3; i++) {
      const res = await c.request({ headers: { 'X-Request-Id': `kept-${i}` } });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(res.json, PING);
      assert.equal(res.headers['x-request-id'], `kept-${i}`);
    }
    const last = await c.request({ keepConn: false, uri: '/api/v1/books/1' });
    assert.equal(last.status, 200, last.body);
    assert.equal(String(last.json.data.id), '1');
    await c.closed;  // the server closes a connection nginx did not ask to keep
  } finally {
    c.close();
  }
});

test('a request body on a kept connection, a 404 and a malformed URL keep the connection usable', async () => {
  const c = await FcgiConnection.open(sock(1));
  try {
    const bad = await c.request({ method: 'POST', uri: '/api/v1/auth/login', body: '{"email":' });
    assert.equal(bad.status, 400, bad.body);
    assert.equal(bad.json.error.code, 'MALFORMED_JSON');
    const missing = await c.request({ uri: '/api/v1/nothing-here' });
    assert.equal(missing.status, 404);
    const nul = await c.request({ uri: '/api/v1/books?q=%00' });
    assert.equal(nul.status, 400);
    const tooBig = await c.request({ method: 'POST', uri: '/api/v1/auth/login', body: `{"x":"${'a'.repeat(200000)}"}` });
    assert.equal(tooBig.status, 413, tooBig.body);
    assert.deepEqual((await c.request()).json, PING);
  } finally {
    c.close();
  }
});

for (const [what, cut] of [
  ['half of its params', (bytes) => Math.floor(bytes.indexOf(Buffer.from('REQUEST_URI')) + 5)],
  ['its params and half of its body', (bytes) => bytes.length - 40],
]) {
  test(`a kept connection that sent ${what} and stalls does not block other connections`, async () => {
    const stalled = [];
    const others = [];
    try {
      // Stall one connection per loop thread and more (connections are dealt
      // out round-robin), on both processes.
      for (let i = 0; i < 8; i++) {
        const c = await FcgiConnection.open(sock(i % 2));
        const bytes = encodeRequest({ method: 'POST', uri: '/api/v1/auth/login', body: `{"email":"stalled-${i}@example.com"}` });
        await c.write(bytes.subarray(0, cut(bytes)));
        stalled.push({ c, rest: bytes.subarray(cut(bytes)) });
      }
      for (let i = 0; i < 16; i++) others.push(await FcgiConnection.open(sock(i % 2)));
      const answers = await Promise.all(others.map((c, i) => c.request({ headers: { 'X-Request-Id': `other-${i}` } })));
      for (const [i, res] of answers.entries()) {
        assert.equal(res.status, 200);
        assert.equal(res.headers['x-request-id'], `other-${i}`);
      }
      const viaNginx = await Promise.all(Array.from({ length: 20 }, () => get('/api/v1/books/2')));
      for (const res of viaNginx) assert.equal(res.status, 200, res.text);
      // The stalled ones resume and are answered (a validation error: no password).
      for (const s of stalled) await s.c.write(s.rest);
      for (const s of stalled) {
        const res = await s.c.response();
        assert.equal(res.status, 400, res.body);
        assert.equal(res.json.success, false);
      }
    } finally {
      for (const s of stalled) s.c.close();
      for (const c of others) c.close();
    }
  });
}

test('bytes that are not FastCGI close that connection and nothing else', async () => {
  const bad = await FcgiConnection.open(sock(0));
  const good = await FcgiConnection.open(sock(0));
  try {
    await bad.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await bad.closed;
    const stray = await FcgiConnection.open(sock(0));
    await stray.write(Buffer.concat([Buffer.from([1, 5, 0, 1, 0, 1, 7, 0]), Buffer.alloc(8)]));  // STDIN before BEGIN
    await stray.closed;
    assert.deepEqual((await good.request()).json, PING);
  } finally {
    bad.close();
    good.close();
  }
});

test('SIGTERM: the request in flight is answered, idle kept connections close, the process comes back', async () => {
  const pid = pidOf(1);
  const idle = await FcgiConnection.open(sock(1));
  const busy = await FcgiConnection.open(sock(1));
  try {
    assert.equal((await idle.request()).status, 200);
    const bytes = encodeRequest({ method: 'POST', uri: '/api/v1/auth/login', body: '{"email":"drain@example.com"}',
      headers: { 'X-Request-Id': 'drained-1' } });
    await busy.write(bytes.subarray(0, bytes.length - 20));  // params there, body not yet
    // Wait until the process has the request's params (the scanner sees them).
    process.kill(pid, 'SIGTERM');
    await waitFor('the socket to be unlinked (no new connections)', () => !existsSync(sock(1)) || pidOf(1) !== pid);
    await idle.closed;  // an idle kept connection is closed at once
    await busy.write(bytes.subarray(bytes.length - 20));
    const res = await busy.response();
    assert.equal(res.status, 400, res.body);  // answered: no password given
    assert.equal(res.headers['x-request-id'], 'drained-1');
    await busy.closed;
    await waitFor('fcgi-1 restarted by its supervisor', () => existsSync(sock(1)) && pidOf(1) !== pid, 20000);
    const again = await FcgiConnection.open(sock(1));
    assert.deepEqual((await again.request()).json, PING);
    again.close();
  } finally {
    idle.close();
    busy.close();
  }
  // nginx finds its way to the new process.
  await waitFor('ping through nginx', async () => (await get('/api/v1/ping')).status === 200);
});

// Sockets a process holds open (its kept nginx connections among them).
function socketsOf(pid) {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

// Connections to the fcgi sockets that the kernel lists (accepted or waiting).
function fcgiConnections() {
  return readFileSync('/proc/net/unix', 'utf8').split('\n')
    .filter((l) => l.includes(`${VAR}/run/fcgi-`) && !/ 00010000 /.test(l)).length;  // not the listeners
}

function wave(agent, n) {
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, path: '/api/v1/ping', agent, timeout: 60000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  })));
}

test('1,000 concurrent kept connections from nginx are all served', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
  const pids = [pidOf(0), pidOf(1)];
  try {
    // Frozen processes make every request wait, so nginx needs 1,000
    // upstream connections at once (the kernel queues them in the backlog).
    for (const p of pids) process.kill(p, 'SIGSTOP');
    let first;
    try {
      first = wave(agent, 1000);
      await waitFor('1,000 upstream connections', () => fcgiConnections() >= 1000, 20000);
    } finally {
      for (const p of pids) process.kill(p, 'SIGCONT');
    }
    const answers = await first;
    assert.equal(answers.filter((r) => r.status === 200 && JSON.parse(r.body).data.pong).length, 1000);
    // nginx keeps them (keepalive 1024): the processes hold them all now.
    const held = pids.map(socketsOf).reduce((a, b) => a + b, 0);
    assert.ok(held >= 1000, `the fcgi processes hold ${held} sockets`);
    const second = await wave(agent, 1000);
    assert.equal(second.filter((r) => r.status === 200).length, 1000);
  } finally {
    agent.destroy();
  }
});

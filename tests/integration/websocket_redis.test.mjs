// bazaar-ws when Redis goes away (issue 8): a restarted or frozen Redis
// leaves client sockets open; the processes resubscribe and deliver what was
// appended meanwhile, then live events again. And a graceful stop of
// bazaar-ws closes sockets with 1001.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { svc, waitFor } from '../lib/client.mjs';
import { NGINX_WS, directWs, userToken, connect, Resp, emit, sleep, closeAll } from '../lib/ws_helpers.mjs';

test.after(closeAll);

const VAR = process.env.BAZAAR_VAR_DIR || 'var/test';

async function emitWhenRedisIsBack(u, n, offset) {
  for (;;) {
    const r = new Resp();
    try {
      const ids = await emit(r, u, 'cart.item_updated', (i) => ({ n: offset + i }), n);
      r.close();
      return ids;
    } catch {
      r.close();
      await sleep(100);
    }
  }
}

test('Redis restarted: sockets stay open, get what was appended meanwhile, then live events', async () => {
  const u = crypto.randomUUID();
  const sockets = [await connect(directWs(0), { token: userToken(u) }), await connect(directWs(1), { token: userToken(u) })];
  const r = new Resp();
  const [first] = await emit(r, u, 'cart.item_updated', () => ({ n: 0 }));
  r.close();
  for (const s of sockets) await s.next((m) => m.id === first);

  svc('restart', 'redis');
  // Appended right after the restart, before or while bazaar-ws reconnects.
  const meanwhile = await emitWhenRedisIsBack(u, 5, 1);
  for (const s of sockets) {
    await s.until('the events appended meanwhile', () => s.events.length >= 6, 30000);
    assert.equal(s.closed, null);
  }
  const later = await emitWhenRedisIsBack(u, 3, 100);
  for (const s of sockets) {
    await s.until('live events after the restart', () => s.events.length >= 9, 30000);
    assert.deepEqual(s.events.map((e) => e.id), [first, ...meanwhile, ...later]);
    await s.reply({ type: 'ping' }, (m) => m.type === 'pong');
    s.close();
  }
});

test('Redis frozen (SIGSTOP) then resumed: sockets stay open and events flow again', async () => {
  const u = crypto.randomUUID();
  const s = await connect(directWs(0), { token: userToken(u) });
  const pid = Number(fs.readFileSync(`${VAR}/run/redis.pid`, 'utf8'));
  process.kill(pid, 'SIGSTOP');
  try {
    await sleep(5000);  // longer than the link's heartbeat budget: it reconnects
    await s.reply({ type: 'ping' }, (m) => m.type === 'pong');  // the event loop never blocked
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  const ids = await emitWhenRedisIsBack(u, 3, 0);
  await s.until('events after the freeze', () => s.events.length >= 3, 30000);
  assert.deepEqual(s.events.map((e) => e.id), ids);
  assert.equal(s.closed, null);
  s.close();
});

test('graceful stop of bazaar-ws: sockets get close 1001, then the processes serve again', async () => {
  const sockets = [await connect(directWs(0), { token: userToken() }), await connect(directWs(1), { token: userToken() })];
  svc('stop', 'ws');
  for (const s of sockets) {
    await s.until('close', () => s.closed, 15000);
    assert.equal(s.closed.code, 1001);
  }
  svc('start', 'ws');
  await waitFor('bazaar-ws back', async () => { (await connect(NGINX_WS, { token: userToken() })).close(); return true; });
});

// bazaar-ws on a Redis Cluster (issue 13, sharded pub/sub): a cluster of the
// test's own (3 masters, 3 replicas on REDIS_PORT+21.., tests/lib/own_cluster.mjs)
// and a bazaar-ws process of its own pointed at it with REDIS_CLUSTER.
// - Events of users whose channels live on different masters all reach
//   their sockets (SPUBLISH in the emitting script, SSUBSCRIBE on the
//   owning master).
// - Each master's PUBSUB SHARDCHANNELS holds only channels of its own slots,
//   and the user channels only on their owner: no node carries every message.
// - A master killed (SIGKILL): once its replica is promoted, the sockets of
//   its users get events again, without restarting bazaar-ws and without
//   an error or a close on any socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { waitFor } from '../lib/client.mjs';
import { userToken, connect, SingleResp, emitTo, sleep, closeAll, REDIS_PORT, WS_PORT } from '../lib/ws_helpers.mjs';
import { startCluster, stopCluster, liveMasters, ownerOf, keySlot, cli } from '../lib/own_cluster.mjs';

const ROOT = process.env.BAZAAR_ROOT || process.cwd();
const VAR = path.resolve(process.env.BAZAAR_VAR_DIR || 'var/test');
const BASE = Number(process.env.WS_CLUSTER_BASE_PORT || REDIS_PORT + 21);
const WS = Number(process.env.WS_CLUSTER_WS_PORT || WS_PORT + 9);
const DIR = path.join(VAR, 'ws-cluster');
const BIN = path.join(process.env.BUILD_DIR || path.join(ROOT, 'build'), 'ws/bazaar-ws');

let ports = [];
let ws = null;

before(async () => {
  ports = await startCluster({ base: BASE, dir: DIR });
  const log = fs.openSync(path.join(DIR, 'bazaar-ws.log'), 'a');
  ws = spawn(BIN, [], {
    env: { ...process.env, WS_PORT: String(WS), REDIS_CLUSTER: `127.0.0.1:${BASE},127.0.0.1:${BASE + 1}`, REDIS_SOCKET: '' },
    stdio: ['ignore', log, log],
  });
  await waitFor('bazaar-ws listens', async () => { try { await fetch(`http://127.0.0.1:${WS}/`); return true; } catch { return false; } }, 30000);
});

after(() => {
  closeAll();
  if (ws) ws.kill('SIGKILL');
  stopCluster(ports, DIR);
});

const channel = (u) => `{u:${u}}:live`;
const stream = (u) => `{u:${u}}:events`;

// `n` fresh users whose channels each master serves.
function usersPerMaster(masters, n) {
  const out = new Map(masters.map((m) => [m.port, []]));
  while ([...out.values()].some((l) => l.length < n)) {
    const u = crypto.randomUUID();
    const l = out.get(ownerOf(masters, channel(u)).port);
    if (l.length < n) l.push(u);
  }
  return out;
}

async function emitOn(port, u, n, offset) {
  const r = new SingleResp(port);  // a node of this suite's own cluster, whatever the stack's mode
  try {
    return await emitTo(r, stream(u), 'cart.item_updated', (i) => ({ n: offset + i }), n);
  } finally {
    r.close();
  }
}

// Emits on whichever master owns the user's slot now, retrying through the
// failover window; returns the ids.
async function emitWhenServed(u, n, offset) {
  for (;;) {
    try {
      const owner = ownerOf(liveMasters(ports.find(alive)), stream(u));
      if (owner) return await emitOn(owner.port, u, n, offset);
    } catch { /* not yet */ }
    await sleep(200);
  }
}
const alive = (p) => { try { return cli(p, 'PING') === 'PONG'; } catch { return false; } };

function shardChannels(port) {
  const out = cli(port, 'PUBSUB', 'SHARDCHANNELS');
  return out ? out.split('\n') : [];
}

test('events of users on every master reach their sockets; each master carries only its own channels', async () => {
  const masters = liveMasters(BASE);
  assert.equal(masters.length, 3);
  const users = usersPerMaster(masters, 2);
  const sockets = new Map();
  for (const list of users.values()) for (const u of list) sockets.set(u, await connect(`ws://127.0.0.1:${WS}/ws`, { token: userToken(u) }));

  // Subscribed where they belong, and nowhere else.
  await waitFor('every user channel subscribed on its master', () =>
    [...users].every(([port, list]) => list.every((u) => shardChannels(port).includes(channel(u)))), 30000);
  for (const m of masters) {
    const chans = shardChannels(m.port);
    assert.ok(chans.length >= 3, `master ${m.port}: ${chans}`);  // its 2 users and bazaar-ws's heartbeat
    for (const c of chans) assert.equal(ownerOf(masters, c).port, m.port, `${c} (slot ${keySlot(c)}) subscribed on ${m.port}`);
    for (const other of masters.filter((o) => o.port !== m.port))
      for (const u of users.get(other.port)) assert.ok(!chans.includes(channel(u)));
  }

  for (const [port, list] of users) {
    for (const u of list) {
      const ids = await emitOn(port, u, 3, 0);
      const s = sockets.get(u);
      await s.until(`events of ${u}`, () => s.events.length >= 3, 15000);
      assert.deepEqual(s.events.map((e) => e.id), ids);
    }
  }
  for (const s of sockets.values()) s.close();
});

test('a master killed: after its replica is promoted the sockets get events again, bazaar-ws not restarted', async () => {
  const masters = liveMasters(BASE);
  const users = usersPerMaster(masters, 1);
  const sockets = new Map();
  for (const list of users.values()) for (const u of list) sockets.set(u, await connect(`ws://127.0.0.1:${WS}/ws`, { token: userToken(u) }));
  await waitFor('subscribed', () => [...users].every(([port, list]) => list.every((u) => shardChannels(port).includes(channel(u)))), 30000);
  const before = {};
  for (const [port, [u]] of users) {
    before[u] = await emitOn(port, u, 1, 0);
    await sockets.get(u).until('first event', () => sockets.get(u).events.length >= 1, 15000);
  }

  const victim = masters[0].port;
  const pid = Number(fs.readFileSync(path.join(DIR, `${victim}.pid`), 'utf8'));
  process.kill(pid, 'SIGKILL');
  const survivor = ports.find((p) => p !== victim);
  await waitFor('a replica promoted', () => {
    try {
      const now = liveMasters(survivor);
      return now.length === 3 && !now.some((m) => m.port === victim) && /cluster_state:ok/.test(cli(survivor, 'CLUSTER', 'INFO'));
    } catch { return false; }
  }, 60000);

  for (const [, [u]] of users) {
    const s = sockets.get(u);
    const later = await emitWhenServed(u, 2, 100);
    await s.until(`events of ${u} after the failover`, () => s.events.length >= 3, 30000);
    // Nothing lost for these: what was appended after the promotion
    // arrives live or through the catch-up replay of the resubscription.
    assert.deepEqual(s.events.map((e) => e.id), [...before[u], ...later]);
    assert.equal(s.closed, null);
    assert.ok(!s.frames.some((f) => f.type === 'error'), JSON.stringify(s.frames));
  }
  assert.equal(ws.exitCode, null, 'bazaar-ws kept running');
  // The promoted master carries its users' channels now.
  const promoted = ownerOf(liveMasters(survivor), channel(users.get(victim)[0])).port;
  await waitFor('resubscribed on the promoted master', () => shardChannels(promoted).includes(channel(users.get(victim)[0])), 30000);
  for (const s of sockets.values()) s.close();
});

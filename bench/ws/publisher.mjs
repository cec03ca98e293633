// The publishing process of bench/ws (forked by bench.mjs, driven over IPC):
// emits events to random users the way each product's producers do.
// - bazaar: EVALSHA of lua/live_event_emit.lua (its `--#include` expanded
//   the way shared/src/redis.cpp does), KEYS[1] = {u:<id>}:events: one XADD
//   to the user's stream + one PUBLISH on {u:<id>}:live per event;
// - socketio: @socket.io/redis-emitter, io.to(`u:<id>`).emit('bench', data):
//   one PUBLISH of a msgpack packet on the adapter's channel per event.
// data = {"t": process.hrtime in µs at send, "n": sequence}.
// rate > 0: open loop, `rate` events/s in 2-ms ticks. rate = 0 (saturation):
// as fast as the Redis connection allows (WINDOWS loops of BATCH commands,
// each batch closed by a PING), but never more than `inflight` events ahead
// of what the receivers got (the driver reports their count every 100 ms):
// offered load above capacity would only pile up in Redis's pub/sub output
// buffers (32 MiB, then Redis drops the subscriber) and in the servers.
import fs from 'node:fs';
import path from 'node:path';
import { createClient } from 'redis';
import { Emitter } from '@socket.io/redis-emitter';

const WINDOWS = 4;
const BATCH = 250;
let sent = 0;
let errors = 0;
let delivered = 0;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

function expandIncludes(file) {
  const dir = path.dirname(file);
  return fs.readFileSync(file, 'utf8').split('\n').map((line) => {
    const m = line.match(/^--#include (\w+)\s*$/);
    return m ? fs.readFileSync(path.join(dir, 'lib', `${m[1]}.lua`), 'utf8') : line;
  }).join('\n');
}

async function makeSender({ target, redisPort, luaDir }) {
  const client = createClient({ url: `redis://127.0.0.1:${redisPort}` });
  client.on('error', () => {});
  await client.connect();
  const onError = () => { errors++; };
  if (target === 'bazaar') {
    const sha = await client.scriptLoad(expandIncludes(path.join(luaDir, 'live_event_emit.lua')));
    return {
      client,
      send(user, n) {
        const data = `{"t":${nowUs()},"n":${n}}`;
        client.evalSha(sha, { keys: [`{u:${user}}:events`], arguments: ['bench', data] })
          .catch(onError);
      },
    };
  }
  const emitter = new Emitter(client);
  return {
    client,
    send(user, n) {
      emitter.to(`u:${user}`).emit('bench', { t: nowUs(), n });
    },
  };
}

async function run(msg) {
  const { users, rate, seconds } = msg;
  const s = await makeSender(msg);
  const pick = () => users[(Math.random() * users.length) | 0];
  sent = 0;
  errors = 0;
  delivered = 0;
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  if (rate > 0) {
    await new Promise((resolve) => {
      const tick = setInterval(() => {
        const now = Date.now();
        const due = Math.min(now, deadline) - t0;
        const target = Math.floor((due * rate) / 1000);
        while (sent < target) s.send(pick(), sent++);
        if (now >= deadline) { clearInterval(tick); resolve(); }
      }, 2);
    });
  } else {
    const loop = async () => {
      while (Date.now() < deadline) {
        if (sent - delivered > msg.inflight) {
          await new Promise((r) => setTimeout(r, 2));
          continue;
        }
        for (let i = 0; i < BATCH; i++) s.send(pick(), sent++);
        await s.client.ping();
      }
    };
    await Promise.all(Array.from({ length: WINDOWS }, loop));
  }
  await s.client.ping();  // every command before it has been executed
  const elapsed = (Date.now() - t0) / 1000;
  await s.client.quit();
  return { sent, errors, seconds: elapsed };
}

process.on('message', async (msg) => {
  if (msg.cmd === 'run') process.send({ type: 'done', ...(await run(msg)) });
  else if (msg.cmd === 'delivered') delivered = msg.n;
  else if (msg.cmd === 'count') process.send({ type: 'count', sent });
  else if (msg.cmd === 'exit') process.exit(0);
});
process.on('disconnect', () => process.exit(0));

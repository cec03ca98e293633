// bench/ws — bazaar-ws against a socket.io 4 reference, same users, same
// events, same client, in one run (issue 8). Run by bench/ws/run.sh, which
// finds the stack's ports, pids and JWT secret; see there for the knobs.
//
// Per target (bazaar = one bazaar-ws process, connected to directly on its
// port, no nginx; socketio = bench/socketio/server.mjs, one Node process,
// started here on the same Redis):
//  1. RSS of the server process, then SOCKETS authenticated sockets (one per
//     user, a random UUID each, opened by CLIENTS receiver processes), a
//     settle, RSS again: (after - before) / SOCKETS = RSS per idle socket;
//  2. fan-out: RATE events/s for LAT_SECONDS to random users (publisher.mjs),
//     publish → receive latency of every delivery, p50/p99/max;
//  3. saturation: the publisher as fast as it can for SAT_SECONDS, but at most
//     INFLIGHT events ahead of what the receivers have got (closed loop, so
//     the backlog stays bounded); deliveries/s received between WARM_SECONDS
//     and the end of publishing, and what was missing after a drain. The
//     latency here is mostly INFLIGHT / throughput (Little's law).
// CPU time (/proc/<pid>/stat) of the server, Redis, publisher and receivers
// is sampled over each phase, and /proc/loadavg at each phase: on a shared
// machine, deliveries per CPU-second of the server is the steadier figure.
// Prints one JSON line per target on stdout, progress on stderr.
import { fork, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const num = (k, d) => Number(env[k] ?? d);
const SOCKETS = num('SOCKETS', 10000);
const CLIENTS = num('CLIENTS', 2);
const RATE = num('RATE', 5000);
const LAT_SECONDS = num('LAT_SECONDS', 20);
const SAT_SECONDS = num('SAT_SECONDS', 15);
const WARM_SECONDS = num('WARM_SECONDS', 4);
const SETTLE_SECONDS = num('SETTLE_SECONDS', 5);
const CONNECT_CONCURRENCY = num('CONNECT_CONCURRENCY', 400);
const INFLIGHT = num('INFLIGHT', 5000);
const REDIS_PORT = num('REDIS_PORT', 16379);
const WS_PORT = num('WS_PORT', 8090);
const SIO_PORT = num('SIO_PORT', WS_PORT + 7);
const TARGETS = (env.TARGETS ?? 'bazaar,socketio').split(',');
const SECRET = env.JWT_SECRET;
const LUA_DIR = env.BAZAAR_LUA_DIR ?? path.resolve(HERE, '../../lua');
if (!SECRET) throw new Error('JWT_SECRET is required');

const log = (...a) => console.error(`[ws-bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const loadavg = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]);
}
function cpuTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);  // utime + stime (fields 14, 15)
  } catch {
    return NaN;
  }
}
// Time the main thread spent runnable but waiting for a core (ns), from
// /proc/<pid>/schedstat: on a shared machine, a process whose CPU % plus
// wait % is near 100 wanted a whole core and did not get it.
function waitNs(pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return NaN;
  }
}
const TICK_HZ = 100;
function cpuSampler(pids) {
  const t0 = process.hrtime.bigint();
  const c0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuTicks(p)]));
  const w0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, waitNs(p)]));
  return () => {
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const out = { wait: {} };
    for (const [k, p] of Object.entries(pids)) {
      out[k] = Math.round((100 * (cpuTicks(p) - c0[k])) / TICK_HZ / s);
      out.wait[k] = Math.round((100 * (waitNs(p) - w0[k])) / 1e9 / s);
    }
    return out;
  };
}

// Request/response over a child's IPC channel: resolves with the next
// message of `type`.
function rpc(child, msg, type) {
  return new Promise((resolve) => {
    const on = (m) => {
      if (m.type !== type) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send(msg);
  });
}

function percentiles(samplesUs) {
  if (samplesUs.length === 0) return { p50: null, p99: null, max: null };
  const a = Float64Array.from(samplesUs).sort();
  const at = (q) => +(a[Math.min(a.length - 1, Math.floor(q * a.length))] / 1000).toFixed(2);
  return { p50: at(0.5), p99: at(0.99), max: +(a[a.length - 1] / 1000).toFixed(2) };
}

async function collect(receivers) {
  const all = await Promise.all(receivers.map((r) => rpc(r, { cmd: 'stats' }, 'stats')));
  const lat = [];
  let received = 0;
  let closes = 0;
  const codes = {};
  for (const s of all) {
    received += s.received;
    closes += s.unexpectedCloses;
    for (const x of s.lat) lat.push(x);
    for (const [c, n] of Object.entries(s.closeCodes)) codes[c] = (codes[c] ?? 0) + n;
  }
  return { received, lat, closes, codes };
}
const marks = async (receivers) =>
  (await Promise.all(receivers.map((r) => rpc(r, { cmd: 'mark' }, 'mark')))).reduce((n, m) => n + m.received, 0);

async function waitDrain(receivers, expected, maxMs) {
  const t0 = Date.now();
  let last = -1;
  for (;;) {
    const got = await marks(receivers);
    if (got >= expected || Date.now() - t0 > maxMs || got === last) return got;
    last = got;
    await sleep(500);
  }
}

async function startSocketIo() {
  const child = spawn(process.execPath, [path.resolve(HERE, '../socketio/server.mjs')], {
    env: { ...env, SIO_PORT: String(SIO_PORT), REDIS_PORT: String(REDIS_PORT) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`socket.io server exited (${code})`)));
    child.stdout.on('data', (d) => { if (String(d).includes('"ready":true')) resolve(); });
  });
  return child;
}

async function measure(target, users) {
  const result = { target, sockets: SOCKETS, clients: CLIENTS, via: '', phases: {} };
  let serverPid;
  let sio;
  if (target === 'bazaar') {
    serverPid = Number(env.WS_PID);
    result.via = `bazaar-ws pid ${serverPid}, ws://127.0.0.1:${WS_PORT}/ws directly (no nginx)`;
  } else {
    sio = await startSocketIo();
    serverPid = sio.pid;
    result.via = `socket.io ${JSON.parse(fs.readFileSync(path.resolve(HERE, '../socketio/node_modules/socket.io/package.json'))).version}` +
      ` + redis-adapter, pid ${serverPid}, ws://127.0.0.1:${SIO_PORT} directly`;
  }
  const base = `ws://127.0.0.1:${target === 'bazaar' ? WS_PORT : SIO_PORT}`;
  const pids = { server: serverPid, redis: Number(env.REDIS_PID) };
  await sleep(1000);
  result.rssBeforeKiB = rssKiB(serverPid);

  // 1. sockets
  const receivers = Array.from({ length: CLIENTS }, () => fork(path.join(HERE, 'receiver.mjs')));
  receivers.forEach((r, i) => { pids[`client${i}`] = r.pid; });
  const publisher = fork(path.join(HERE, 'publisher.mjs'));
  pids.publisher = publisher.pid;
  log(`${target}: opening ${SOCKETS} sockets (${CLIENTS} client processes), load ${loadavg()}`);
  const per = Math.ceil(SOCKETS / CLIENTS);
  let cpu = cpuSampler(pids);
  const conn = await Promise.all(receivers.map((r, i) => rpc(r, {
    cmd: 'connect', target, base, users: users.slice(i * per, (i + 1) * per), secret: SECRET,
    concurrency: Math.ceil(CONNECT_CONCURRENCY / CLIENTS),
  }, 'connected')));
  const opened = conn.reduce((n, c) => n + c.opened, 0);
  const connectS = Math.max(...conn.map((c) => c.ms)) / 1000;
  result.phases.connect = {
    opened, failed: conn.reduce((n, c) => n + c.failed, 0), seconds: connectS,
    perSecond: Math.round(opened / connectS), cpu: cpu(), load: loadavg(),
  };
  log(`${target}: ${opened} open in ${connectS} s; settling ${SETTLE_SECONDS} s`);
  await sleep(SETTLE_SECONDS * 1000);
  result.rssAfterKiB = rssKiB(serverPid);
  result.rssPerSocketKiB = +((result.rssAfterKiB - result.rssBeforeKiB) / opened).toFixed(2);
  log(`${target}: RSS ${result.rssBeforeKiB} -> ${result.rssAfterKiB} KiB = ${result.rssPerSocketKiB} KiB/socket`);

  const pubArgs = { target, users, redisPort: REDIS_PORT, luaDir: LUA_DIR };
  // 2. fan-out at RATE
  await Promise.all(receivers.map((r) => rpc(r, { cmd: 'reset' }, 'reset')));
  cpu = cpuSampler(pids);
  const load0 = loadavg();
  const pub = await rpc(publisher, { cmd: 'run', ...pubArgs, rate: RATE, seconds: LAT_SECONDS }, 'done');
  const cpuLat = cpu();
  await waitDrain(receivers, pub.sent, 5000);
  let st = await collect(receivers);
  result.phases.fanout = {
    offeredPerS: RATE, seconds: LAT_SECONDS, published: pub.sent, publishErrors: pub.errors,
    publishedPerS: Math.round(pub.sent / pub.seconds), delivered: st.received,
    missing: pub.sent - st.received, latencyMs: percentiles(st.lat), unexpectedCloses: st.closes,
    closeCodes: st.codes, cpu: cpuLat, load: `${load0} → ${loadavg()}`,
  };
  log(`${target}: fan-out`, JSON.stringify(result.phases.fanout));

  // 3. saturation
  await Promise.all(receivers.map((r) => rpc(r, { cmd: 'reset' }, 'reset')));
  const loadS = loadavg();
  const running = rpc(publisher, { cmd: 'run', ...pubArgs, rate: 0, seconds: SAT_SECONDS, inflight: INFLIGHT }, 'done');
  let feeding = true;
  const feed = (async () => {
    while (feeding) {
      publisher.send({ cmd: 'delivered', n: await marks(receivers) });
      await sleep(100);
    }
  })();
  await sleep(WARM_SECONDS * 1000);
  cpu = cpuSampler(pids);
  const t1 = process.hrtime.bigint();
  const [c1, p1] = await Promise.all([marks(receivers), rpc(publisher, { cmd: 'count' }, 'count')]);
  await sleep((SAT_SECONDS - WARM_SECONDS - 0.5) * 1000);
  const [c2, p2] = await Promise.all([marks(receivers), rpc(publisher, { cmd: 'count' }, 'count')]);
  const window = Number(process.hrtime.bigint() - t1) / 1e9;
  const cpuSat = cpu();
  const done = await running;
  feeding = false;
  await feed;
  const drained = await waitDrain(receivers, done.sent, 10000);
  st = await collect(receivers);
  const deliveredPerS = Math.round((c2 - c1) / window);
  result.phases.saturation = {
    seconds: SAT_SECONDS, inflight: INFLIGHT, window: +window.toFixed(2), published: done.sent, publishErrors: done.errors,
    publishedPerS: Math.round((p2.sent - p1.sent) / window), deliveredPerS,
    deliveredPerServerCpuS: cpuSat.server > 0 ? Math.round(deliveredPerS / (cpuSat.server / 100)) : null,
    delivered: drained, missing: done.sent - drained, latencyMs: percentiles(st.lat),
    unexpectedCloses: st.closes, closeCodes: st.codes, cpu: cpuSat, load: `${loadS} → ${loadavg()}`,
  };
  log(`${target}: saturation`, JSON.stringify(result.phases.saturation));

  await Promise.all(receivers.map((r) => rpc(r, { cmd: 'close' }, 'closed')));
  publisher.send({ cmd: 'exit' });
  if (sio) {
    sio.removeAllListeners('exit');
    sio.kill('SIGTERM');
    await new Promise((r) => sio.on('exit', r));
  }
  return result;
}

const users = Array.from({ length: SOCKETS }, () => crypto.randomUUID());
for (const target of TARGETS) {
  const r = await measure(target, users);
  console.log(JSON.stringify(r));
  await sleep(2000);
}
process.exit(0);

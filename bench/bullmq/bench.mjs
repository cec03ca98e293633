// BullMQ reference run, same phases and knobs as bench/queue/queue_bench.cpp:
// (1) addBulk JOBS trivial jobs, then one Worker with CONCURRENCY processes
// them; (2) one add() every 1/RATE s for LAT_SECONDS, add->start latency.
// Prints one JSON object. Env: REDIS_PORT, JOBS, CONCURRENCY, RATE, LAT_SECONDS.
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';

const env = (k, d) => Number(process.env[k] || d);
const [JOBS, CONC, RATE, SECS] = [env('JOBS', 50000), env('CONCURRENCY', 8), env('RATE', 1000), env('LAT_SECONDS', 10)];
const connection = { host: process.env.REDIS_HOST || '127.0.0.1', port: env('REDIS_PORT', 6379), maxRetriesPerRequest: null };
const admin = new IORedis(connection);
const nowMs = () => performance.timeOrigin + performance.now();
const stats = async () => (await admin.info('commandstats')).split('\n').reduce((acc, l) => {
  const m = l.match(/^cmdstat_(\w+):calls=(\d+)/);
  if (m && !['info', 'config', 'ping', 'client'].includes(m[1])) acc.total += +m[2];
  if (m && (m[1] === 'evalsha' || m[1] === 'eval')) acc.scripts += +m[2];
  return acc;
}, { total: 0, scripts: 0 });
const drained = (worker, n) => new Promise((res) => { let c = 0; worker.on('completed', () => { if (++c === n) res(); }); });

const tp = new Queue(`bench-tp-${process.pid}`, { connection });
await admin.config('RESETSTAT');
let t0 = nowMs();
for (let i = 0; i < JOBS; i += 1000)
  await tp.addBulk(Array.from({ length: Math.min(1000, JOBS - i) }, (_, j) => ({ name: 'noop', data: { i: i + j } })));
const addS = (nowMs() - t0) / 1000;
t0 = nowMs();
const w1 = new Worker(tp.name, async () => {}, { connection, concurrency: CONC });
await drained(w1, JOBS);
const runS = (nowMs() - t0) / 1000;
await new Promise((r) => setTimeout(r, 300));
const s = await stats();
await w1.close();

const lq = new Queue(`bench-lat-${process.pid}`, { connection });
const lat = [];
const w2 = new Worker(lq.name, async (job) => { lat.push(nowMs() - job.data.t); }, { connection, concurrency: CONC });
await w2.waitUntilReady();
await new Promise((r) => setTimeout(r, 300));
const total = RATE * SECS;
const start = nowMs();
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / RATE;
  while (nowMs() < due) await new Promise((r) => setTimeout(r, Math.max(0, due - nowMs() - 1)));
  await lq.add('ping', { t: nowMs() });
}
while (lat.length < total) await new Promise((r) => setTimeout(r, 5));
await w2.close();
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
console.log(JSON.stringify({ impl: 'bullmq', jobs: JOBS, concurrency: CONC, addPerS: Math.round(JOBS / addS),
  processedPerS: Math.round(JOBS / runS), commandsPerJob: +(s.total / JOBS).toFixed(2), scriptCallsPerJob: +(s.scripts / JOBS).toFixed(3),
  latency: { offeredPerS: RATE, jobs: lat.length, p50Ms: +pct(0.5).toFixed(3), p99Ms: +pct(0.99).toFixed(3), maxMs: +pct(1).toFixed(3) } }));
await tp.obliterate({ force: true });
await lq.obliterate({ force: true });
await Promise.all([tp.close(), lq.close(), admin.quit()]);

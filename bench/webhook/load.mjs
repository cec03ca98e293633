// Load client of bench/webhook_bench.sh: CONCURRENCY requests in flight over
// keep-alive connections, latency of each measured here (send → full body).
// Phases, each over ORDERS requests: ping (floor), applied (success events on
// fresh orders), duplicate (the same events again), ignored (another type).
import http from 'node:http';
import crypto from 'node:crypto';

const PORT = Number(process.env.HTTP_PORT || 8080);
const N = Number(process.env.ORDERS || 2000);
const C = Number(process.env.CONCURRENCY || 8);
const SECRET = process.env.WEBHOOK_SECRET.split(',')[0];
const PREFIX = process.env.INTENT_PREFIX;
const agent = new http.Agent({ keepAlive: true, maxSockets: C });

function send(method, path, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port: PORT, method, path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.end(body); else req.end();
  });
}

function signed(payload) {
  const t = Math.floor(Date.now() / 1000);
  const v1 = crypto.createHmac('sha256', SECRET).update(`${t}.${payload}`).digest('hex');
  return { 'Content-Type': 'application/json', 'Stripe-Signature': `t=${t},v1=${v1}`, 'Content-Length': Buffer.byteLength(payload) };
}

const event = (i, type) => JSON.stringify({
  id: `evt_bench_${PREFIX}${i}_${type}`, object: 'event', type, created: Math.floor(Date.now() / 1000), livemode: false,
  data: { object: { id: `${PREFIX}${i}`, object: 'payment_intent', amount: 1000, currency: 'usd', metadata: {} } },
});

async function phase(label, make, expect) {
  const lat = [];
  let next = 0, bad = 0, firstBad;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (next < N) {
      const i = ++next;
      const { method, path, body, headers } = make(i);
      const r = await send(method, path, body, headers);
      lat.push(r.ms);
      if (!expect(r)) { bad++; firstBad ??= `${r.status} ${r.text.slice(0, 200)}`; }
    }
  }));
  const secs = (Date.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
  console.log(`${label.padEnd(12)} ${String(Math.round(N / secs)).padStart(6)} req/s   p50 ${q(0.5)} ms   p99 ${q(0.99)} ms   max ${lat[lat.length - 1].toFixed(1)} ms   ${bad ? `${bad} unexpected (first: ${firstBad})` : 'all as expected'}`);
}

const ok = (outcome) => (r) => r.status === 200 && JSON.parse(r.text).data.outcome === outcome;
await phase('ping', () => ({ method: 'GET', path: '/api/v1/ping' }), (r) => r.status === 200);
await phase('applied', (i) => { const p = event(i, 'payment_intent.succeeded'); return { method: 'POST', path: '/api/v1/payments/webhook', body: p, headers: signed(p) }; }, ok('applied'));
await phase('duplicate', (i) => { const p = event(i, 'payment_intent.succeeded'); return { method: 'POST', path: '/api/v1/payments/webhook', body: p, headers: signed(p) }; }, ok('duplicate'));
await phase('ignored', (i) => { const p = event(i, 'customer.created'); return { method: 'POST', path: '/api/v1/payments/webhook', body: p, headers: signed(p) }; }, ok('ignored'));
agent.destroy();

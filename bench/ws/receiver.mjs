// One receiving process of bench/ws (forked by bench.mjs, driven over IPC):
// holds its share of the sockets and timestamps every event it receives.
//
// Both servers are spoken to with the same `ws` client and one JSON.parse per
// frame, so the client side costs the same per delivery:
// - bazaar-ws: ws://…/ws?token=<JWT>; a frame is
//   {"event":"bench","id":…,"ts":…,"data":{"t":<µs>,"n":…}}
// - socket.io: the Engine.IO 4 / Socket.IO 5 protocol over a plain WebSocket
//   (what socket.io-client sends with transports: ['websocket']): `0{…}` open,
//   we send `40{"token":…}` (CONNECT with auth), `40{…}` ack, `2` ping → `3`
//   pong, `42["bench",{"t":…}]` an event.
// Latency: `t` is the publisher's process.hrtime (CLOCK_MONOTONIC, one clock
// for every process of the machine) in µs when it sent the event.
import crypto from 'node:crypto';
import WebSocket from 'ws';

let sockets = [];
let received = 0;
let lat = [];
let opened = 0;
let failed = 0;
let unexpectedCloses = 0;
const closeCodes = {};
let closing = false;

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

const b64url = (b) => Buffer.from(b).toString('base64url');
function mint(secret, sub, ttlS) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub, role: 'user', iat: now, exp: now + ttlS }));
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

function record(t) {
  received++;
  if (typeof t === 'number') lat.push(nowUs() - t);
}

function openOne(target, base, token) {
  return new Promise((resolve) => {
    const url = target === 'bazaar' ? `${base}/ws?token=${token}`
      : `${base}/socket.io/?EIO=4&transport=websocket`;
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 30000 });
    let done = false;
    const finish = (ok) => {
      if (done) return;
      done = true;
      if (ok) { opened++; sockets.push(ws); } else { failed++; ws.terminate(); }
      resolve();
    };
    ws.on('error', () => finish(false));
    ws.on('close', (code) => {
      if (!done) return finish(false);
      if (!closing) { unexpectedCloses++; closeCodes[code] = (closeCodes[code] ?? 0) + 1; }
    });
    if (target === 'bazaar') {
      ws.on('open', () => finish(true));
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString());
        if (m.event === 'bench') record(m.data.t);
      });
    } else {
      ws.on('message', (data) => {
        const s = data.toString();
        if (s.startsWith('42')) {
          const [name, payload] = JSON.parse(s.slice(2));
          if (name === 'bench') record(payload.t);
        } else if (s === '2') {
          ws.send('3');
        } else if (s[0] === '0') {
          ws.send(`40${JSON.stringify({ token })}`);
        } else if (s.startsWith('40')) {
          finish(true);
        } else if (s.startsWith('44')) {
          finish(false);
        }
      });
    }
  });
}

async function connectAll({ target, base, users, secret, concurrency }) {
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const u = users[next++];
      await openOne(target, base, mint(secret, u, 3600));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { opened, failed, ms: Date.now() - t0 };
}

process.on('message', async (msg) => {
  switch (msg.cmd) {
    case 'connect':
      process.send({ type: 'connected', ...(await connectAll(msg)) });
      break;
    case 'reset':
      received = 0;
      lat = [];
      process.send({ type: 'reset' });
      break;
    case 'mark':
      process.send({ type: 'mark', received, open: sockets.length - unexpectedCloses });
      break;
    case 'stats':
      process.send({ type: 'stats', received, lat, unexpectedCloses, closeCodes });
      break;
    case 'close':
      closing = true;
      for (const ws of sockets) ws.terminate();
      sockets = [];
      process.send({ type: 'closed' });
      setTimeout(() => process.exit(0), 200);
      break;
    default:
      break;
  }
});
process.on('disconnect', () => process.exit(0));

// The reference of bench/ws: the live-events server a Node team would write
// with socket.io 4, built the documented way (not tuned for the benchmark):
// - @socket.io/redis-adapter (classic adapter: every server PSUBSCRIBEs the
//   namespace's channel and filters rooms locally) on the stack's Redis, so
//   producers publish with @socket.io/redis-emitter from any process;
// - a JWT (HS256, the stack's JWT_SECRET) checked in the handshake middleware
//   (`auth: { token }`, or `?token=`), role user|admin as in bazaar-ws;
// - one room per user (`u:<userId>`), admins also join `role:admin`;
// - the socket is disconnected when its token expires (bazaar-ws closes with
//   4001), so both servers hold one timer per socket.
// Environment: SIO_PORT (18697), REDIS_HOST (127.0.0.1), REDIS_PORT (16379),
// JWT_SECRET. Prints one JSON line {"ready":true,...} once it listens.
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import jwt from 'jsonwebtoken';

const port = Number(process.env.SIO_PORT ?? 18697);
const secret = process.env.JWT_SECRET;
if (!secret || secret.length < 32) {
  console.error('JWT_SECRET (at least 32 bytes) is required');
  process.exit(2);
}
const url = `redis://${process.env.REDIS_HOST ?? '127.0.0.1'}:${process.env.REDIS_PORT ?? 16379}`;
const pubClient = createClient({ url });
const subClient = pubClient.duplicate();
pubClient.on('error', (e) => console.error('redis pub', e.message));
subClient.on('error', (e) => console.error('redis sub', e.message));
await Promise.all([pubClient.connect(), subClient.connect()]);

const httpServer = createServer();
const io = new Server(httpServer, { adapter: createAdapter(pubClient, subClient) });

io.use((socket, next) => {
  const token = socket.handshake.auth?.token ?? socket.handshake.query?.token;
  try {
    const claims = jwt.verify(String(token ?? ''), secret, { algorithms: ['HS256'] });
    if (typeof claims.sub !== 'string' || !claims.sub || !['user', 'admin'].includes(claims.role) ||
        !Number.isInteger(claims.exp)) {
      throw new Error('bad claims');
    }
    socket.data.userId = claims.sub;
    socket.data.role = claims.role;
    socket.data.exp = claims.exp;
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

io.on('connection', (socket) => {
  socket.join(`u:${socket.data.userId}`);
  if (socket.data.role === 'admin') socket.join('role:admin');
  const left = Math.max(0, socket.data.exp * 1000 - Date.now());
  const expiry = setTimeout(() => socket.disconnect(true), Math.min(left, 2 ** 31 - 1));
  socket.on('disconnect', () => clearTimeout(expiry));
  socket.on('ping', (ack) => typeof ack === 'function' && ack('pong'));
});

httpServer.listen(port, '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, port, pid: process.pid }));
});

const stop = () => {
  io.close();
  Promise.allSettled([pubClient.quit(), subClient.quit()]).then(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

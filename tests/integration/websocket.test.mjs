// Issue 2: bazaar-ws behind nginx's /ws answers ping with pong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { PORT } from '../lib/client.mjs';

test('ws: ping → pong through nginx', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${PORT}/ws`);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const reply = new Promise((resolve) => ws.once('message', (m) => resolve(JSON.parse(m.toString()))));
  ws.send(JSON.stringify({ type: 'ping' }));
  assert.deepEqual(await reply, { type: 'pong' });
  ws.close();
});

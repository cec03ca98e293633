// Waiting for the carts' durable copy (the cart-persist jobs write each
// user's cart to Postgres), for suites that need it before they disturb
// Redis. On timeout the failure says where the missing carts stand: the cart
// hash in Redis (v, pq) and the state of the user's persist jobs, so that a
// lost or stuck job can be told from a slow one.
import assert from 'node:assert/strict';
import { psql, redisCli, waitFor } from './client.mjs';

const persisted = (bookId) => Number(psql(`SELECT count(*) FROM cart_items WHERE book_id = ${bookId}`));

function diagnosis(bookId, userIds) {
  const done = new Set(psql(`SELECT user_id FROM cart_items WHERE book_id = ${bookId}`).split('\n').filter(Boolean));
  const missing = userIds.filter((id) => !done.has(id));
  const field = (key, f) => { try { return redisCli('HGET', key, f) || '-'; } catch { return '?'; } };
  const sample = missing.slice(0, 5).map((id) => {
    const jobs = [`cart:${id}`, `cart:${id}:v1`, `cart:${id}:v2`]
      .map((j) => `${j}=${field(`{q:cart-persist}:job:${j}`, 'state')}/${field(`{q:cart-persist}:job:${j}`, 'atm')}`);
    return `${id}: cart v=${field(`{u:${id}}:cart`, 'v')} pq=${field(`{u:${id}}:cart`, 'pq')}; jobs (state/attempts) ${jobs.join(' ')}`;
  });
  const size = (key) => {
    try {
      const type = redisCli('TYPE', key);
      return type === 'list' ? redisCli('LLEN', key) : type === 'zset' ? redisCli('ZCARD', key) : type;
    } catch { return '?'; }
  };
  const counts = ['wait', 'active', 'delayed', 'failed'].map((k) => `${k}=${size(`{q:cart-persist}:${k}`)}`).join(' ');
  return `${missing.length} of ${userIds.length} carts not in Postgres; queue ${counts}\n  ${sample.join('\n  ')}`;
}

export async function waitCartsPersisted(bookId, userIds, timeoutMs = 90000) {
  try {
    await waitFor('carts persisted', () => persisted(bookId) === userIds.length, timeoutMs);
  } catch {
    assert.fail(`carts not persisted in ${timeoutMs} ms: ${diagnosis(bookId, userIds)}`);
  }
}

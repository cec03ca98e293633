// "Watch your cart live" in a real browser (issue 8): Debian's chromium,
// driven by playwright-core, opens the demo page /live/ with the user's
// accessToken cookie; the page connects to /ws and shows the cart events
// pushed by the server. Screenshots are saved under
// $BUILD_DIR/test-artifacts/ (ctest's build folder).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { BASE, get, post } from '../lib/client.mjs';
import { registerUser } from '../lib/auth_helpers.mjs';
import { Resp, emit } from '../lib/ws_helpers.mjs';

const ARTIFACTS = path.join(process.env.BUILD_DIR || 'build', 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

async function openLivePage(user) {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const context = await browser.newContext();
  await context.addCookies([{ name: 'accessToken', value: user.accessToken, url: BASE, httpOnly: true }]);
  const page = await context.newPage();
  await page.goto(`${BASE}/live/`);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'live', null, { timeout: 15000 });
  return { browser, page };
}

test('the demo page shows an event pushed through Redis (live_event_emit)', async () => {
  const user = await registerUser('browser');
  const { browser, page } = await openLivePage(user);
  try {
    const resp = new Resp();
    const cart = { items: [{ bookId: '42', title: 'A Pushed Book', priceCents: 1250, quantity: 2 }], totalCents: 2500, currency: 'USD', version: 7 };
    const [id] = await emit(resp, user.user.id, 'cart.item_updated', () => ({ bookId: '42', quantity: 2, cart }));
    resp.close();
    await page.waitForFunction((eid) => document.getElementById('events').textContent.includes(eid), id, { timeout: 15000 });
    assert.match(await page.textContent('#cart tbody'), /A Pushed Book/);
    assert.equal(await page.textContent('#total'), '25.00 USD');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'live-cart-emitted.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

test('the demo page shows the cart event of a REST call (POST /api/v1/cart/items)', async () => {
  const user = await registerUser('browser');
  const books = await get('/api/v1/books?limit=1');
  assert.equal(books.status, 200, books.text);
  const book = books.json.data[0];
  const { browser, page } = await openLivePage(user);
  try {
    const res = await post('/api/v1/cart/items', { bookId: book.id, quantity: 1 }, { token: user.accessToken });
    assert.equal(res.status, 200, res.text);
    await page.waitForFunction(() => document.getElementById('events').textContent.includes('cart.item_updated'), null, { timeout: 15000 });
    assert.ok((await page.textContent('#events')).includes(`"bookId":"${book.id}"`));
    assert.ok((await page.textContent('#cart tbody')).includes(book.title));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'live-cart-rest.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

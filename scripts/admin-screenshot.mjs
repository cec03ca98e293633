#!/usr/bin/env node
// scripts/admin-screenshot.mjs — renders docs/admin-dashboard.png and
// docs/admin-phone.png from the operators' page of a running stack with the
// demo seed (`scripts/stack up`), in Debian's headless Chromium through
// playwright-core (installed in tests/: `cd tests && npm ci`).
//
//   HTTP_PORT=8080 node scripts/admin-screenshot.mjs
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(ROOT, 'tests', 'package.json'));
const { chromium } = require('playwright-core');

const BASE = `http://127.0.0.1:${process.env.HTTP_PORT || 8080}`;
const EMAIL = 'admin@example.com';
const PASSWORD = process.env.SEED_ADMIN_PASSWORD || 'admin-password-1';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
try {
  for (const [file, viewport] of [['admin-dashboard.png', { width: 1400, height: 1000 }],
    ['admin-phone.png', { width: 390, height: 844 }]]) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${BASE}/admin/`);
    await page.waitForSelector('#login-form', { state: 'visible', timeout: 30000 });
    await page.fill('#login-email', EMAIL);
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-submit');
    await page.waitForSelector('#login-view', { state: 'hidden', timeout: 30000 });
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(1500);  // the live stream's first events and the pipelines panel
    await page.screenshot({ path: path.join(ROOT, 'docs', file), fullPage: viewport.width > 1000 });
    await context.close();
    console.log(`docs/${file}`);
  }
} finally {
  await browser.close();
}

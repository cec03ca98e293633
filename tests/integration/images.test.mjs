// Images (API.md §3 "Images", §6 image.ready) through nginx against the real
// stack: uploads of real JPEG/PNG/WebP files made here with the vips CLI,
// the worker's variants checked with vipsheader, and hostile input: wrong
// magic bytes, decompression bombs, truncated files, huge bodies, path
// traversal in multipart filenames, a long run of corrupt files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request, get, post, assertError, psql, waitFor, BASE } from '../lib/client.mjs';
import { loginAdmin, loginUser } from '../lib/auth_helpers.mjs';
import { connect, closeAll, NGINX_WS } from '../lib/ws_helpers.mjs';

const VAR = path.resolve(process.env.BAZAAR_VAR_DIR || 'var/test');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'bazaar-images-'));
let admin;
let user;

before(async () => {
  admin = await loginAdmin();
  user = await loginUser();
});
after(() => {
  closeAll();
  fs.rmSync(TMP, { recursive: true, force: true });
});

const vips = (...args) => execFileSync('vips', args, { cwd: TMP, stdio: 'pipe' });
const header = (file, field) => execFileSync('vipsheader', ['-f', field, file], { encoding: 'utf8' }).trim();
const headerAll = (file) => execFileSync('vipsheader', ['-a', file], { encoding: 'utf8' });

// A w x h sRGB noise image (photo-like: JPEG cannot shrink it to nothing).
function makeImage(name, w, h, { alpha = false } = {}) {
  const base = `${name}-base.v`;
  if (!fs.existsSync(path.join(TMP, base))) {
    vips('gaussnoise', `${name}-n.v`, String(w), String(h));
    vips('cast', `${name}-n.v`, `${name}-c.v`, 'uchar');
    vips('bandjoin', `${name}-c.v ${name}-c.v ${name}-c.v${alpha ? ` ${name}-c.v` : ''}`, base);
  }
  const out = path.join(TMP, name);
  vips('copy', base, out);
  return fs.readFileSync(out);
}

// An APP1 Exif segment with one IFD entry: Orientation = 6 (rotate 90° CW).
function withExifOrientation6(jpeg) {
  const tiff = Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'binary'), tiff]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload]);
  return Buffer.concat([jpeg.subarray(0, 2), seg, jpeg.subarray(2)]);
}

// A PNG whose header declares w x h with a few bytes of data: the bomb case.
function pngDeclaring(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

async function createBook() {
  const res = await post('/api/v1/books', { title: `Images ${Date.now()}-${Math.random()}`, author: 'A', priceCents: 100, stock: 1 },
    { token: admin.accessToken });
  assert.equal(res.status, 201, res.text);
  return res.json.data.id;
}

const uploadRaw = (bookId, bytes, type, token = admin.accessToken) =>
  request('POST', `/api/v1/books/${bookId}/images`, { raw: bytes, headers: { 'Content-Type': type }, token, timeoutMs: 30000 });

function uploadMultipart(bookId, bytes, { type = 'application/octet-stream', filename = 'x.jpg', field = 'image' } = {}) {
  const form = new FormData();
  form.append(field, new Blob([bytes], { type }), filename);
  return request('POST', `/api/v1/books/${bookId}/images`, { raw: form, token: admin.accessToken, timeoutMs: 30000 });
}

async function imagesOf(bookId) {
  const res = await get(`/api/v1/books/${bookId}?include=images`);
  assert.equal(res.status, 200, res.text);
  return res.json.data.images;
}

async function settled(bookId, imageId, timeoutMs = 60000) {
  let img;
  await waitFor(`image ${imageId} to leave processing`, async () => {
    img = (await imagesOf(bookId)).find((i) => i.id === imageId);
    return img && img.status !== 'processing';
  }, timeoutMs);
  return img;
}

// Downloads a /media/ URL through nginx into TMP; returns {res, file}.
async function fetchMedia(url) {
  const res = await fetch(BASE + url);
  const file = path.join(TMP, `dl-${Math.random().toString(16).slice(2)}${path.extname(url)}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return { res, file };
}

const mediaFile = (url) => path.join(VAR, url);

test('JPEG upload: 202, then ready with three variants served by nginx, image.ready to admins', async () => {
  const bookId = await createBook();
  const ws = await connect(NGINX_WS, { token: admin.accessToken });
  const jpeg = withExifOrientation6(makeImage('photo.jpg', 900, 600));
  const res = await uploadRaw(bookId, jpeg, 'image/jpeg');
  assert.equal(res.status, 202, res.text);
  const { id, status, original } = res.json.data;
  assert.match(id, /^\d+$/);
  assert.equal(status, 'processing');
  assert.match(original, /^\/media\/originals\/[0-9a-f]{32}\.jpg$/);
  // Stored without its metadata (issue 18), but still upright: the Exif
  // orientation survives, alone (see the metadata test below).
  assert.equal(header(mediaFile(original), 'orientation'), '6', 'the original keeps its orientation');

  const img = await settled(bookId, id);
  assert.equal(img.status, 'ready', JSON.stringify(img));
  assert.equal(img.original, original);
  const base = path.basename(original, '.jpg');
  assert.deepEqual(img.variants, {
    thumbnail: `/media/optimized/${base}-150x150.jpg`,
    medium: `/media/optimized/${base}-600x600.jpg`,
    webp: `/media/optimized/${base}.webp`,
  });

  const ev = await ws.next((m) => m.event === 'image.ready' && m.data.imageId === id, 'image.ready');
  assert.equal(ev.data.bookId, bookId);
  assert.deepEqual(ev.data.variants, img.variants);

  const thumb = await fetchMedia(img.variants.thumbnail);
  assert.equal(thumb.res.status, 200);
  assert.equal(thumb.res.headers.get('content-type'), 'image/jpeg');
  assert.equal(thumb.res.headers.get('x-content-type-options'), 'nosniff');
  assert.match(thumb.res.headers.get('cache-control'), /max-age=31536000/);
  assert.equal(header(thumb.file, 'width'), '150');
  assert.equal(header(thumb.file, 'height'), '150');

  // Orientation 6 applied: the 900x600 source is upright 600x900, so it fits as 400x600.
  const medium = await fetchMedia(img.variants.medium);
  assert.equal(medium.res.headers.get('content-type'), 'image/jpeg');
  assert.equal(header(medium.file, 'width'), '400');
  assert.equal(header(medium.file, 'height'), '600');
  const all = headerAll(medium.file);
  assert.match(all, /^interlaced: 1$/m, 'progressive JPEG');
  assert.doesNotMatch(all, /exif|orientation/i, 'metadata stripped');
  assert.ok(fs.readFileSync(medium.file).includes(Buffer.from([0xff, 0xc2])), 'SOF2 marker present');
  assert.doesNotMatch(headerAll(thumb.file), /exif|orientation/i);

  const webp = await fetchMedia(img.variants.webp);
  assert.equal(webp.res.headers.get('content-type'), 'image/webp');
  assert.equal(header(webp.file, 'vips-loader'), 'webpload');
  assert.equal(header(webp.file, 'width'), '400');
  assert.equal(header(webp.file, 'height'), '600');
  ws.close();
});

test('PNG (with alpha) and WebP uploads through multipart become ready', async () => {
  const bookId = await createBook();
  const png = makeImage('pic.png', 1200, 300, { alpha: true });
  const webpSrc = makeImage('pic.webp', 500, 700);
  const r1 = await uploadMultipart(bookId, png, { type: 'image/png', filename: 'pic.png' });
  assert.equal(r1.status, 202, r1.text);
  assert.match(r1.json.data.original, /\.png$/);
  const r2 = await uploadMultipart(bookId, webpSrc, { filename: 'pic.webp' });
  assert.equal(r2.status, 202, r2.text);
  assert.match(r2.json.data.original, /\.webp$/);

  const i1 = await settled(bookId, r1.json.data.id);
  assert.equal(i1.status, 'ready', JSON.stringify(i1));
  const m1 = await fetchMedia(i1.variants.medium);
  assert.equal(header(m1.file, 'width'), '600');
  assert.equal(header(m1.file, 'height'), '150');
  assert.equal(header(m1.file, 'bands'), '3', 'alpha flattened for JPEG');
  const t1 = await fetchMedia(i1.variants.thumbnail);
  assert.equal(`${header(t1.file, 'width')}x${header(t1.file, 'height')}`, '150x150');

  const i2 = await settled(bookId, r2.json.data.id);
  assert.equal(i2.status, 'ready', JSON.stringify(i2));
  const m2 = await fetchMedia(i2.variants.webp);
  assert.equal(header(m2.file, 'height'), '600');
  assert.ok(['428', '429'].includes(header(m2.file, 'width')), header(m2.file, 'width'));

  const images = await imagesOf(bookId);
  assert.deepEqual(images.map((i) => i.id), [r1.json.data.id, r2.json.data.id]);
  for (const i of images) assert.deepEqual(Object.keys(i).sort(), ['id', 'original', 'status', 'variants']);
});

test('a path-traversal filename in the multipart part is ignored', async () => {
  const bookId = await createBook();
  const png = makeImage('trav.png', 64, 64);
  const res = await uploadMultipart(bookId, png, { type: 'image/png', filename: '../../../../../tmp/bazaar-pwned.png' });
  assert.equal(res.status, 202, res.text);
  assert.match(res.json.data.original, /^\/media\/originals\/[0-9a-f]{32}\.png$/);
  assert.ok(!fs.existsSync('/tmp/bazaar-pwned.png'));
  assert.ok(!fs.existsSync(path.join(VAR, 'bazaar-pwned.png')));
});

test('the magic bytes decide: ZIP, SVG, PDF, TIFF, GIF, mismatches → 415, nothing stored', async () => {
  const bookId = await createBook();
  const before = fs.readdirSync(path.join(VAR, 'media/originals')).length;
  const zip = Buffer.concat([Buffer.from('PK\x03\x04', 'binary'), Buffer.alloc(200, 1)]);
  assertError(await uploadRaw(bookId, zip, 'image/jpeg'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertError(await uploadMultipart(bookId, zip, { filename: 'book.jpg', type: 'image/jpeg' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>');
  assertError(await uploadRaw(bookId, svg, 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertError(await uploadRaw(bookId, Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\n'), 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  vips('black', 'x.tif', '10', '10');
  assertError(await uploadRaw(bookId, fs.readFileSync(path.join(TMP, 'x.tif')), 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  const gif = Buffer.concat([Buffer.from('GIF89a', 'ascii'), Buffer.from([10, 0, 10, 0, 0, 0, 0]), Buffer.alloc(40, 0)]);
  assertError(await uploadMultipart(bookId, gif, { filename: 'x.png' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  // A real PNG declared as JPEG, and a PNG sent as application/json.
  const png = makeImage('mis.png', 32, 32);
  assertError(await uploadRaw(bookId, png, 'image/jpeg'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assertError(await uploadRaw(bookId, png, 'application/json'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  // A valid magic with a broken header.
  const fakePng = Buffer.concat([png.subarray(0, 8), Buffer.alloc(100, 7)]);
  assertError(await uploadRaw(bookId, fakePng, 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE');
  assert.equal(fs.readdirSync(path.join(VAR, 'media/originals')).length, before, 'no file stored');
  assert.equal(psql(`SELECT count(*) FROM images WHERE book_id = ${bookId}`), '0');
});

test('a decompression bomb (tiny PNG declaring 20000x20000) → 400 from the header, nothing stored', async () => {
  const bookId = await createBook();
  const bomb = pngDeclaring(20000, 20000);
  assert.ok(bomb.length < 100);
  const err = assertError(await uploadRaw(bookId, bomb, 'image/png'), 400, 'VALIDATION_FAILED');
  assert.equal(err.details[0].field, 'image');
  assertError(await uploadMultipart(bookId, pngDeclaring(7000, 6000), { type: 'image/png' }), 400, 'VALIDATION_FAILED');
  // 40 MP exactly is allowed by the header check (it then fails to decode: the data is a stub).
  const ok = await uploadRaw(bookId, pngDeclaring(8000, 5000), 'image/png');
  assert.equal(ok.status, 202, ok.text);
  const img = await settled(bookId, ok.json.data.id);
  assert.equal(img.status, 'failed');
  assert.equal(psql(`SELECT count(*) FROM images WHERE book_id = ${bookId}`), '1');
});

test('a truncated JPEG ends failed with a reason; the original stays, no variants', async () => {
  const bookId = await createBook();
  const full = makeImage('trunc.jpg', 1000, 800);
  const res = await uploadRaw(bookId, full.subarray(0, Math.floor(full.length * 0.6)), 'image/jpeg');
  assert.equal(res.status, 202, res.text);
  const img = await settled(bookId, res.json.data.id);
  assert.equal(img.status, 'failed');
  assert.equal(typeof img.error, 'string');
  assert.ok(img.error.length > 0);
  assert.doesNotMatch(img.error, /\/media|var\//, 'no server path in the reason');
  assert.deepEqual(img.variants, {});
});

test('bodies over 10 MiB → 413 (from the app at 11 MiB, from nginx above)', async () => {
  const bookId = await createBook();
  const big = Buffer.alloc(11 * 1024 * 1024, 0);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(big);
  assertError(await uploadRaw(bookId, big, 'image/jpeg'), 413, 'PAYLOAD_TOO_LARGE');
  const bigger = Buffer.alloc(12 * 1024 * 1024, 0);
  assertError(await uploadRaw(bookId, bigger, 'image/jpeg'), 413, 'PAYLOAD_TOO_LARGE');
  // 10 MiB + 1 byte of image inside a multipart body that fits the route's limit.
  const justOver = Buffer.alloc(10 * 1024 * 1024 + 1, 0);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(justOver);
  assertError(await uploadMultipart(bookId, justOver, { type: 'image/jpeg' }), 413, 'PAYLOAD_TOO_LARGE');
});

test('access: no token 401, non-admin 403, unknown or deleted book 404, bad ids 400', async () => {
  const bookId = await createBook();
  const png = makeImage('acc.png', 20, 20);
  assertError(await request('POST', `/api/v1/books/${bookId}/images`, { raw: png, headers: { 'Content-Type': 'image/png' } }), 401, 'UNAUTHENTICATED');
  assertError(await uploadRaw(bookId, png, 'image/png', user.accessToken), 403, 'FORBIDDEN');
  assertError(await uploadRaw('999999999', png, 'image/png'), 404, 'NOT_FOUND');
  assertError(await uploadRaw('abc', png, 'image/png'), 400, 'VALIDATION_FAILED');
  const up = await uploadRaw(bookId, png, 'image/png');
  assert.equal(up.status, 202);
  assertError(await request('DELETE', `/api/v1/books/${bookId}/images/${up.json.data.id}`, { token: user.accessToken }), 403, 'FORBIDDEN');
  const other = await createBook();
  assertError(await request('DELETE', `/api/v1/books/${other}/images/${up.json.data.id}`, { token: admin.accessToken }), 404, 'NOT_FOUND');
  assertError(await request('DELETE', `/api/v1/books/${bookId}/images/x1`, { token: admin.accessToken }), 400, 'VALIDATION_FAILED');
});

test('DELETE image → 204 and its files are gone; deleting the book removes its images', async () => {
  const bookId = await createBook();
  const res = await uploadRaw(bookId, makeImage('del.jpg', 400, 300), 'image/jpeg');
  const img = await settled(bookId, res.json.data.id);
  assert.equal(img.status, 'ready');
  const urls = [img.original, ...Object.values(img.variants)];
  for (const u of urls) assert.equal((await fetch(BASE + u)).status, 200);
  const del = await request('DELETE', `/api/v1/books/${bookId}/images/${img.id}`, { token: admin.accessToken });
  assert.equal(del.status, 204, del.text);
  for (const u of urls) {
    assert.ok(!fs.existsSync(mediaFile(u)), u);
    assert.equal((await fetch(BASE + u)).status, 404);
  }
  assert.deepEqual(await imagesOf(bookId), []);
  assertError(await request('DELETE', `/api/v1/books/${bookId}/images/${img.id}`, { token: admin.accessToken }), 404, 'NOT_FOUND');

  const r2 = await uploadRaw(bookId, makeImage('del2.png', 300, 300), 'image/png');
  const i2 = await settled(bookId, r2.json.data.id);
  const urls2 = [i2.original, ...Object.values(i2.variants)];
  assert.equal((await request('DELETE', `/api/v1/books/${bookId}`, { token: admin.accessToken })).status, 204);
  for (const u of urls2) assert.ok(!fs.existsSync(mediaFile(u)), u);
  assert.equal(psql(`SELECT count(*) FROM images WHERE book_id = ${bookId}`), '0');
});

test('nginx /media/: no listings, no temporary files, unknown files 404', async () => {
  for (const u of ['/media/', '/media/originals/', '/media/optimized/', '/media/originals']) {
    const res = await fetch(BASE + u);
    assert.notEqual(res.status, 200, u);
    assert.doesNotMatch(await res.text(), /Index of/);
  }
  fs.writeFileSync(path.join(VAR, 'media/optimized/abc.jpg.tmp-1-1'), 'partial');
  assert.equal((await fetch(`${BASE}/media/optimized/abc.jpg.tmp-1-1`)).status, 404);
  fs.rmSync(path.join(VAR, 'media/optimized/abc.jpg.tmp-1-1'));
  assert.equal((await fetch(`${BASE}/media/originals/nope.jpg`)).status, 404);
  assert.equal((await fetch(`${BASE}/media/../etc/passwd`)).status !== 200, true);
});

test('the worker survives 100 corrupt files in a row, then still processes a good one', async () => {
  const bookId = await createBook();
  const good = makeImage('corrupt-src.jpg', 320, 240);
  const ids = [];
  for (let i = 0; i < 100; i++) {
    // Valid header, then garbage or a cut: every way of being broken.
    const cut = good.subarray(0, 2000 + ((i * 397) % (good.length - 4000)));
    const bad = i % 2 ? cut : Buffer.concat([cut, Buffer.alloc(300, i)]);
    const res = await uploadRaw(bookId, bad, 'image/jpeg');
    assert.equal(res.status, 202, res.text);
    ids.push(res.json.data.id);
  }
  await waitFor('100 corrupt images to settle', async () =>
    psql(`SELECT count(*) FROM images WHERE book_id = ${bookId} AND status = 'processing'`) === '0', 180000);
  assert.equal(psql(`SELECT count(*) FROM images WHERE book_id = ${bookId} AND status = 'ready'`), '0');
  assert.equal(psql(`SELECT count(*) FROM images WHERE book_id = ${bookId} AND status = 'failed' AND error <> ''`), '100');
  const ok = await uploadRaw(bookId, good, 'image/jpeg');
  assert.equal((await settled(bookId, ok.json.data.id)).status, 'ready');
});

test('image-orphan-cleanup removes files without a row and re-enqueues stuck rows', async () => {
  const bookId = await createBook();
  const res = await uploadRaw(bookId, makeImage('stuck.jpg', 300, 200), 'image/jpeg');
  const keep = await settled(bookId, res.json.data.id);
  assert.equal(keep.status, 'ready');
  // A row stuck in processing (its job lost) and an orphan file.
  const r2 = await uploadRaw(bookId, makeImage('stuck2.jpg', 300, 200), 'image/jpeg');
  const stuckId = r2.json.data.id;
  await settled(bookId, stuckId);
  psql(`UPDATE images SET status = 'processing', variants = '{}' WHERE id = ${stuckId}`);
  const orphan = path.join(VAR, 'media/optimized/0123456789abcdef0123456789abcdef-150x150.jpg');
  fs.writeFileSync(orphan, 'orphan');
  const job = JSON.stringify({ name: 'image-orphan-cleanup', data: { graceS: 0, stuckAfterS: 0 } });
  psql(`INSERT INTO outbox (topic, payload) VALUES ('job:images', '${job}'::jsonb); NOTIFY bazaar_outbox_jobs`);
  await waitFor('the orphan to be removed', () => !fs.existsSync(orphan), 30000);
  // Postgres, not the API: the UPDATE above bypassed the read cache on purpose.
  await waitFor('the stuck row to be processed again', () =>
    psql(`SELECT status FROM images WHERE id = ${stuckId}`) === 'ready', 30000);
  const again = (await imagesOf(bookId)).find((i) => i.id === stuckId);
  assert.equal(again.status, 'ready', JSON.stringify(again));
  for (const u of [keep.original, ...Object.values(keep.variants), again.original, ...Object.values(again.variants)])
    assert.ok(fs.existsSync(mediaFile(u)), `referenced file kept: ${u}`);
});

/* ---- issue 18: dimension bombs, bounded jobs, metadata of originals ---- */

const workerPids = () => fs.readdirSync(path.join(VAR, 'run')).filter((f) => /^worker-\d+\.pid$/.test(f))
  .map((f) => Number(fs.readFileSync(path.join(VAR, 'run', f), 'utf8').trim()));
function workerRssMiB() {
  let max = 0;
  for (const pid of workerPids()) {
    try {
      const kb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
      max = Math.max(max, kb / 1024);
    } catch { /* restarting */ }
  }
  return max;
}
// Waits for the image to settle while sampling the worker's RSS; returns {img, peakMiB}.
async function settledWatchingRss(bookId, imageId, timeoutMs = 90000) {
  let peakMiB = workerRssMiB();
  let img;
  await waitFor(`image ${imageId} to leave processing`, async () => {
    peakMiB = Math.max(peakMiB, workerRssMiB());
    img = (await imagesOf(bookId)).find((i) => i.id === imageId);
    return img && img.status !== 'processing';
  }, timeoutMs);
  return { img, peakMiB: Math.max(peakMiB, workerRssMiB()) };
}
// The bomb of issue 18 used 2.4 GB; normal processing stays far below this.
const RSS_BOUND_MIB = 1024;

test('dimension bombs: 100000x1 (198 bytes, 0.1 MP), 1x100000, a side over 12000 px, 21:1 → 400 at upload, nothing stored', async () => {
  const bookId = await createBook();
  const before = fs.readdirSync(path.join(VAR, 'media/originals')).length;
  const bomb = pngDeclaring(100000, 1);
  assert.ok(bomb.length < 250, `${bomb.length} bytes`);
  for (const [w, h] of [[100000, 1], [1, 100000], [12001, 1000], [2100, 100]]) {
    const err = assertError(await uploadRaw(bookId, pngDeclaring(w, h), 'image/png'), 400, 'VALIDATION_FAILED');
    assert.equal(err.details[0].field, 'image', `${w}x${h}`);
    assert.match(err.details[0].reason, new RegExp(`${w}x${h}`));
  }
  assertError(await uploadMultipart(bookId, bomb, { type: 'image/png' }), 400, 'VALIDATION_FAILED');
  assert.equal(fs.readdirSync(path.join(VAR, 'media/originals')).length, before, 'no file stored');
  assert.equal(psql(`SELECT count(*) FROM images WHERE book_id = ${bookId}`), '0');
});

test('a bomb that reaches the job anyway (written behind the API) fails from its header; the worker stays bounded', async () => {
  const bookId = await createBook();
  const name = `${'b'.repeat(24)}${Date.now().toString(16).slice(-8)}`;
  const url = `/media/originals/${name}.png`;
  fs.writeFileSync(mediaFile(url), pngDeclaring(100000, 1));
  const id = psql(`INSERT INTO images (book_id, status, content_type, original_path) VALUES (${bookId}, 'processing', 'image/png', '${url}') RETURNING id`).split('\n')[0];
  const job = JSON.stringify({ name: 'process', data: { imageId: id }, options: { jobId: `image-bomb-${id}` } });
  psql(`INSERT INTO outbox (topic, payload) VALUES ('job:images', '${job}'::jsonb); NOTIFY bazaar_outbox_jobs`);
  const { img, peakMiB } = await settledWatchingRss(bookId, id, 30000);
  assert.equal(img.status, 'failed', JSON.stringify(img));
  assert.match(psql(`SELECT error FROM images WHERE id = ${id}`), /100000x1/);
  assert.ok(peakMiB < RSS_BOUND_MIB, `worker RSS ${peakMiB} MiB`);
});

test('a 12000x600 image (at the side and ratio bounds) processes within the job timeout; the worker stays bounded', async () => {
  const bookId = await createBook();
  const jpeg = makeImage('wide.jpg', 12000, 600);
  const res = await uploadRaw(bookId, jpeg, 'image/jpeg');
  assert.equal(res.status, 202, res.text);
  const { img, peakMiB } = await settledWatchingRss(bookId, res.json.data.id);
  assert.equal(img.status, 'ready', JSON.stringify(img));
  const thumb = await fetchMedia(img.variants.thumbnail);
  assert.equal(`${header(thumb.file, 'width')}x${header(thumb.file, 'height')}`, '150x150');
  const medium = await fetchMedia(img.variants.medium);
  assert.equal(`${header(medium.file, 'width')}x${header(medium.file, 'height')}`, '600x30');
  assert.ok(peakMiB < RSS_BOUND_MIB, `worker RSS ${peakMiB} MiB`);
});

// An APP1 Exif with Make = "BazaarCam" and Orientation = 6, an XMP packet
// with a location and a comment: what a phone or an editor leaves in a file.
function withMetadata(jpeg) {
  const seg = (marker, payload) => Buffer.concat([Buffer.from([0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]), payload]);
  const tiff = Buffer.concat([
    Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8, 0, 2]),
    Buffer.from([0x01, 0x0f, 0, 2, 0, 0, 0, 10, 0, 0, 0, 38]),
    Buffer.from([0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]),
    Buffer.from([0, 0, 0, 0]),
    Buffer.from('BazaarCam\0', 'binary'),
  ]);
  const exif = seg(0xe1, Buffer.concat([Buffer.from('Exif\0\0', 'binary'), tiff]));
  const xmp = seg(0xe1, Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><photoshop:City>Secret-Place</photoshop:City></x:xmpmeta>', 'binary'));
  const com = seg(0xfe, Buffer.from('shot at Secret-Place'));
  return Buffer.concat([jpeg.subarray(0, 2), exif, xmp, com, jpeg.subarray(2)]);
}

test('originals are stored and served without their metadata (location, camera); orientation and pixels kept', async () => {
  const bookId = await createBook();
  const jpeg = withMetadata(makeImage('meta.jpg', 300, 200));
  assert.ok(jpeg.includes('BazaarCam') && jpeg.includes('Secret-Place'));
  const res = await uploadRaw(bookId, jpeg, 'image/jpeg');
  assert.equal(res.status, 202, res.text);
  const served = await fetchMedia(res.json.data.original);
  assert.equal(served.res.status, 200);
  const bytes = fs.readFileSync(served.file);
  assert.ok(!bytes.includes('BazaarCam'), 'camera make served');
  assert.ok(!bytes.includes('Secret-Place'), 'location served');
  assert.equal(header(served.file, 'orientation'), '6');
  const img = await settled(bookId, res.json.data.id);
  assert.equal(img.status, 'ready', JSON.stringify(img));
  const medium = await fetchMedia(img.variants.medium);
  assert.equal(`${header(medium.file, 'width')}x${header(medium.file, 'height')}`, '200x300', 'still turned upright (300x200 with orientation 6)');

  // PNG text chunks go too.
  const png = makeImage('meta.png', 40, 30);
  const iend = png.length - 12;
  const text = Buffer.from('Location\0Secret-Place', 'binary');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(text.length);
  const chunk = Buffer.concat([len, Buffer.from('tEXt'), text, Buffer.alloc(4)]);
  const r2 = await uploadRaw(bookId, Buffer.concat([png.subarray(0, iend), chunk, png.subarray(iend)]), 'image/png');
  assert.equal(r2.status, 202, r2.text);
  const servedPng = fs.readFileSync((await fetchMedia(r2.json.data.original)).file);
  assert.ok(!servedPng.includes('Secret-Place'));
  assert.equal((await settled(bookId, r2.json.data.id)).status, 'ready');
});

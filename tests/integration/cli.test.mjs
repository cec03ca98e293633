// Issue 2: the `bazaar` command line — migrations (ordered, recorded,
// checksummed), the idempotent demo seed, and user creation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { psql } from '../lib/client.mjs';

const CLI = `${process.env.BUILD_DIR}/cli/bazaar`;
const ROOT = process.env.BAZAAR_ROOT;

function bazaar(args, env = {}, input) {
  const r = spawnSync(CLI, args, { env: { ...process.env, ...env }, encoding: 'utf8', input });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('migrate up is idempotent and status lists every file as applied', () => {
  const again = bazaar(['migrate', 'up']);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /up to date/);
  const st = bazaar(['migrate', 'status']);
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, /0001_init\s+applied/);
  assert.doesNotMatch(st.out, /pending|MODIFIED/);
});

test('an edited applied migration is refused, and a new file is applied in order', () => {
  const db = `bazaar_cli_${process.pid}`;
  psql(`CREATE DATABASE ${db}`);
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  cpSync(`${ROOT}/migrations`, dir, { recursive: true });
  const env = { PG_DB: db, BAZAAR_MIGRATIONS_DIR: dir };
  try {
    const first = bazaar(['migrate', 'up'], env);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /applied 0001_init/);

    writeFileSync(join(dir, '9999_extra.sql'), 'CREATE TABLE cli_extra (id int);');
    const second = bazaar(['migrate', 'up'], env);
    assert.equal(second.code, 0, second.err);
    assert.equal(second.out.trim(), 'applied 9999_extra');

    appendFileSync(join(dir, '0001_init.sql'), '\n-- edited\n');
    const refused = bazaar(['migrate', 'up'], env);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /^bazaar: .*0001_init\.sql.*edited/);
    assert.equal(refused.err.trim().split('\n').length, 1, 'one-line message');
    const st = bazaar(['migrate', 'status'], env);
    assert.notEqual(st.code, 0);
    assert.match(st.out, /0001_init\s+MODIFIED/);
  } finally {
    psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  }
});

test('seed is idempotent: a second run creates nothing', () => {
  const books = Number(psql('SELECT count(*) FROM books'));
  assert.ok(books >= 200, `expected 200+ books, got ${books}`);
  const r = bazaar(['seed']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /0 users and 0 books created/);
  assert.equal(Number(psql('SELECT count(*) FROM books')), books);
  assert.equal(psql("SELECT role FROM users WHERE email = 'admin@example.com'"), 'admin');
  assert.equal(Number(psql("SELECT count(*) FROM users WHERE email LIKE 'user_@example.com'")), 5);
  assert.ok(Number(psql('SELECT count(DISTINCT tag_id) FROM book_tags')) >= 10);
});

test('user create makes an admin, stores an argon2id hash, refuses duplicates and bad input', () => {
  const email = `cli-admin-${process.pid}@example.com`;
  const r = bazaar(['user', 'create', '--email', email, '--admin'], {}, 'a-strong-password\n');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /created admin/);
  assert.equal(psql(`SELECT role FROM users WHERE email = '${email}'`), 'admin');
  assert.match(psql(`SELECT password_hash FROM users WHERE email = '${email}'`), /^\$argon2id\$/);

  const dup = bazaar(['user', 'create', '--email', email, '--password', 'another-password']);
  assert.notEqual(dup.code, 0);
  assert.match(dup.err, /^bazaar: .*already exists/);

  const weak = bazaar(['user', 'create', '--email', `weak-${process.pid}@example.com`, '--password', 'short']);
  assert.notEqual(weak.code, 0);
  assert.match(weak.err, /password/);

  const unknown = bazaar(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /usage/);
});

test('a bad configuration value stops a binary with a one-line message naming it', () => {
  const r = bazaar(['migrate', 'status'], { REDIS_PORT: 'seventy' });
  assert.notEqual(r.code, 0);
  assert.match(r.err, /REDIS_PORT/);
  for (const bin of ['fcgi/bazaar-fcgi', 'workers/bazaar-worker', 'ws/bazaar-ws']) {
    const p = spawnSync(`${process.env.BUILD_DIR}/${bin}`, [], { env: { ...process.env, HTTP_PORT: 'x' }, encoding: 'utf8', timeout: 5000 });
    assert.equal(p.status, 2, `${bin}: ${p.stderr}`);
    assert.match(p.stderr, /^bazaar-\w+: HTTP_PORT: /);
    assert.equal(p.stderr.trim().split('\n').length, 1);
  }
});

// Issue 18: `bazaar outbox failed` lists rows the relay set aside,
// `bazaar outbox redrive --id N | --all` hands them back to it.
test('outbox redrive hands a row set aside back to the relay, which publishes it', async () => {
  const queue = `t-cli-redrive-${Date.now()}`;
  const id = psql(`INSERT INTO outbox (topic, payload, attempts, last_error, failed_at)
    VALUES ('job:${queue}', '{"name": "noop", "data": {}, "options": {"jobId": "cli-${Date.now()}"}}', 5, 'refused', now())
    RETURNING id`).split('\n')[0];
  const listed = bazaar(['outbox', 'failed', '--limit', '1000']);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, new RegExp(`^${id} job:${queue} attempts=5 `, 'm'));

  const r = bazaar(['outbox', 'redrive', '--id', id]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.trim(), `1 outbox rows re-driven: ${id}`);
  const deadline = Date.now() + 15000;
  while (psql(`SELECT published_at IS NOT NULL FROM outbox WHERE id = ${id}`) !== 't') {
    assert.ok(Date.now() < deadline, 'the relay never published the re-driven row');
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(psql(`SELECT attempts || '|' || (failed_at IS NULL) FROM outbox WHERE id = ${id}`), '0|true');

  const again = bazaar(['outbox', 'redrive', '--id', id]);
  assert.equal(again.code, 1);
  assert.match(again.err, /^bazaar: this outbox row was published/);
  assert.equal(bazaar(['outbox', 'redrive', '--id', 'x']).code, 1);
  assert.equal(bazaar(['outbox', 'redrive']).code, 1);
  // --all of one queue (a bare --all would hand back other suites' rows too)
  const other = psql(`INSERT INTO outbox (topic, payload, attempts, failed_at)
    VALUES ('job:${queue}', '{"name": "noop", "data": {}, "options": {"jobId": "cli-all-${Date.now()}"}}', 5, now())
    RETURNING id`).split('\n')[0];
  const all = bazaar(['outbox', 'redrive', '--all', '--queue', queue]);
  assert.equal(all.code, 0, all.err);
  assert.equal(all.out.trim(), `1 outbox rows re-driven: ${other}`);
});

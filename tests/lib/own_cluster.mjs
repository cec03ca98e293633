// A throw-away Redis Cluster of the test's own (redis-server
// --cluster-enabled on loopback, redis-cli --cluster create): for the suites
// that check sharded pub/sub and per-node behaviour without depending on the
// stack's Redis mode. Ports: `base`..`base+n-1` (bus: each port - 5000, out of the kernel's
// ephemeral range, where Redis's default +10000 may already be taken).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './client.mjs';

export function cli(port, ...args) {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

export async function startCluster({ base, dir, masters = 3, replicas = 1 }) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const ports = [];
  for (let i = 0; i < masters * (1 + replicas); i++) ports.push(base + i);
  for (const p of ports) {
    spawnSync('redis-cli', ['-p', String(p), 'SHUTDOWN', 'NOSAVE'], { stdio: 'ignore' });  // a leftover
    execFileSync('redis-server', ['--port', String(p), '--cluster-port', String(p - 5000), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
      '--cluster-config-file', path.join(dir, `nodes-${p}.conf`), '--cluster-node-timeout', '2000',
      '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--repl-diskless-sync-delay', '0',
      '--pidfile', path.join(dir, `${p}.pid`), '--logfile', path.join(dir, `${p}.log`)]);
  }
  for (const p of ports) await waitFor(`redis ${p}`, () => { try { return cli(p, 'PING') === 'PONG'; } catch { return false; } });
  execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`),
    '--cluster-replicas', String(replicas), '--cluster-yes'], { stdio: 'ignore' });
  await waitFor('cluster ok on every node', () => ports.every((p) => /cluster_state:ok/.test(cli(p, 'CLUSTER', 'INFO'))), 60000);
  // Every node agrees on the masters (the replicas' view included).
  await waitFor('replicas attached', () => liveMasters(base).length === masters &&
    ports.every((p) => cli(p, 'CLUSTER', 'NODES').split('\n').filter((l) => / master /.test(` ${l.split(' ')[2].replace(/,/g, ' ')} `)).length === masters), 60000);
  // A replica that never finished its first sync cannot be promoted.
  await waitFor('replicas in sync', () => ports.every((p) => {
    const info = cli(p, 'INFO', 'replication');
    return /role:master/.test(info) || /master_link_status:up/.test(info);
  }), 60000);
  return ports;
}

export function stopCluster(ports, dir) {
  for (const p of ports) spawnSync('redis-cli', ['-p', String(p), 'SHUTDOWN', 'NOSAVE'], { stdio: 'ignore' });
  if (dir) {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      if (!f.endsWith('.pid')) continue;
      try { process.kill(Number(fs.readFileSync(path.join(dir, f), 'utf8')), 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

// [{ port, ranges: [[lo, hi], ...] }] of the masters not flagged failed, as `port`'s node sees them.
export function liveMasters(port) {
  return cli(port, 'CLUSTER', 'NODES').split('\n').filter(Boolean).map((l) => l.split(' '))
    .filter((f) => f[2].split(',').includes('master') && !/fail/.test(f[2]) && f.length > 8)
    .map((f) => ({
      port: Number(/:(\d+)@/.exec(f[1])[1]),
      ranges: f.slice(8).filter((r) => !r.startsWith('[')).map((r) => r.split('-').map(Number)).map(([lo, hi]) => [lo, hi ?? lo]),
    }));
}

// Redis Cluster's key slot (CRC16/XMODEM of the hash tag or the key).
export function keySlot(key) {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

export function ownerOf(masters, key) {
  const s = keySlot(key);
  return masters.find((m) => m.ranges.some(([lo, hi]) => s >= lo && s <= hi));
}

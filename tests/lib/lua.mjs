// The store's Lua scripts as Redis gets them: `--#include` lines replaced by
// the lua/lib file they name, as load_scripts() does (shared/src/redis.cpp).
// For suites that run a script themselves (a queue with failed jobs made
// without a worker, a live event emitted without the API).
import fs from 'node:fs';
import path from 'node:path';
import { redisCli } from './client.mjs';

const ROOT = process.env.BAZAAR_ROOT || process.cwd();

export function luaSource(name) {
  return fs.readFileSync(path.join(ROOT, 'lua', `${name}.lua`), 'utf8').split('\n')
    .map((l) => (l.startsWith('--#include ') ? fs.readFileSync(path.join(ROOT, 'lua/lib', `${l.slice(11).trim()}.lua`), 'utf8') : l))
    .join('\n');
}

// Runs lua/<name>.lua with its keys and arguments (through redisCli: on a
// cluster, on the node of the keys); the reply's lines.
export function runLua(name, keys, args) {
  return redisCli('EVAL', luaSource(name), String(keys.length), ...keys, ...args.map(String)).split('\n');
}

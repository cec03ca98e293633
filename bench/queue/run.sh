#!/usr/bin/env bash
# bench/run queue — the job queue against BullMQ, on the same Redis, with the
# same concurrency, in one run: processed jobs/s of trivial jobs, p99
# add->start latency at RATE jobs/s offered, Redis commands per job.
# Environment: REDIS_PORT (16379), BUILD_DIR (build), JOBS (50000),
# CONCURRENCY (8), RATE (1000), LAT_SECONDS (10), ROUNDS (2, alternating).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
: "${REDIS_PORT:=16379}" "${BUILD_DIR:=$ROOT/build}" "${ROUNDS:=2}"
export REDIS_PORT JOBS="${JOBS:-50000}" CONCURRENCY="${CONCURRENCY:-8}" RATE="${RATE:-1000}" \
    LAT_SECONDS="${LAT_SECONDS:-10}" BAZAAR_LUA_DIR="$ROOT/lua"
BIN=$(realpath -m "$BUILD_DIR")/bench/queue_bench
[[ -x $BIN ]] || ninja -C "$BUILD_DIR" queue_bench >/dev/null
[[ -d $ROOT/bench/bullmq/node_modules ]] ||
    (cd "$ROOT/bench/bullmq" && npm install --no-audit --no-fund --silent)
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "no Redis on port $REDIS_PORT" >&2; exit 1; }

# Alternate the two so that background load on the machine hits both alike.
for ((i = 1; i <= ROUNDS; i++)); do
    "$BIN"
    node "$ROOT/bench/bullmq/bench.mjs"
done | tee /dev/stderr | node -e '
  const rows = require("fs").readFileSync(0, "utf8").trim().split("\n").map(JSON.parse);
  const best = (impl, k) => Math.max(...rows.filter((r) => r.impl === impl).map((r) => r[k]));
  const p99 = (impl) => Math.min(...rows.filter((r) => r.impl === impl).map((r) => r.latency.p99Ms));
  const cmd = (impl) => rows.find((r) => r.impl === impl).commandsPerJob;
  console.log(`processed jobs/s  bazaar ${best("bazaar", "processedPerS")}  bullmq ${best("bullmq", "processedPerS")}  ratio ${(best("bazaar", "processedPerS") / best("bullmq", "processedPerS")).toFixed(2)}x`);
  console.log(`p99 add->start    bazaar ${p99("bazaar")} ms  bullmq ${p99("bullmq")} ms`);
  console.log(`Redis cmds/job    bazaar ${cmd("bazaar")}  bullmq ${cmd("bullmq")}`);'

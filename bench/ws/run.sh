#!/usr/bin/env bash
# bench/run ws — bazaar-ws vs a socket.io 4 + Redis adapter server, in one
# run, against a running stack (scripts/stack up): idle RSS per socket with
# SOCKETS authenticated sockets on ONE bazaar-ws process (ws-0, its own port
# WS_PORT, not through nginx), publish → receive latency at RATE events/s,
# and deliveries/s at saturation (bench/ws/bench.mjs has the method).
# Environment (same as scripts/stack): BAZAAR_VAR_DIR (var), REDIS_PORT
# (16379), WS_PORT (8090), JWT_SECRET (else $BAZAAR_VAR_DIR/secrets/jwt_secret,
# else .env's);
# SIO_PORT (WS_PORT+7), SOCKETS (10000), CLIENTS (2 receiver processes),
# RATE (5000), LAT_SECONDS (20), SAT_SECONDS (15), TARGETS (bazaar,socketio),
# OUT (var dir/bench-ws-<time>.jsonl: the raw results).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
env_default() {  # the value scripts/stack would give: environment, .env, .env.example
    local key=$1 f v
    [[ -n ${!key:-} ]] && { echo "${!key}"; return; }
    for f in .env .env.example; do
        [[ -f $f ]] || continue
        v=$(sed -n "s/^[[:space:]]*\(export[[:space:]]\+\)\{0,1\}$key=//p" "$f" | tail -1)
        v=${v%$'\r'}
        [[ $v =~ ^\"(.*)\"$ || $v =~ ^\'(.*)\'$ ]] && v=${BASH_REMATCH[1]}
        [[ -n $v ]] && { echo "$v"; return; }
    done
}
VAR_DIR=$(env_default BAZAAR_VAR_DIR || true)
VAR=$(realpath -m "${VAR_DIR:-var}")
REDIS_PORT=$(env_default REDIS_PORT || true)
WS_PORT=$(env_default WS_PORT || true)
export REDIS_PORT=${REDIS_PORT:-16379} WS_PORT=${WS_PORT:-8090}
# The stack's secret: the environment's, else the one scripts/stack generated
# under $BAZAAR_VAR_DIR/secrets, else .env's (or .env.example's, which older
# builds accepted).
if [[ -z ${JWT_SECRET:-} && -s $VAR/secrets/jwt_secret ]]; then JWT_SECRET=$(<"$VAR/secrets/jwt_secret"); fi
export JWT_SECRET=${JWT_SECRET:-$(env_default JWT_SECRET)} BAZAAR_LUA_DIR=$ROOT/lua
export WS_PID=$(cat "$VAR/run/ws-0.pid") REDIS_PID=$(cat "$VAR/run/redis.pid")
kill -0 "$WS_PID" && kill -0 "$REDIS_PID" || { echo "no running stack in $VAR" >&2; exit 1; }
# 10,000 sockets need as many descriptors in the client processes (and in
# the servers, which inherit the limit of the shell that ran `stack up`).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
for d in ws socketio; do
    [[ -d $HERE/../$d/node_modules ]] || (cd "$HERE/../$d" && npm ci --no-audit --no-fund --silent)
done
OUT=${OUT:-$VAR/bench-ws-$(date -u +%Y%m%dT%H%M%SZ).jsonl}
echo "machine: $(nproc) cores, $(uname -sr), node $(node --version), redis $(redis-server --version | awk '{print $3}'), fd limit $(ulimit -n), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "server fd limit: $(awk '/Max open files/ {print $4}' "/proc/$WS_PID/limits")" >&2
node "$HERE/bench.mjs" | tee "$OUT"
echo "raw results: $OUT" >&2
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
  const f = (n) => n == null ? "–" : n.toLocaleString("en-US");
  console.log("| measurement | " + rows.map((r) => r.target).join(" | ") + " |");
  console.log("|---|" + rows.map(() => "---|").join(""));
  const line = (label, get) => console.log(`| ${label} | ${rows.map(get).join(" | ")} |`);
  line("sockets open / failed", (r) => `${f(r.phases.connect.opened)} / ${f(r.phases.connect.failed)} (${r.phases.connect.perSecond}/s)`);
  line("server RSS before → after (KiB)", (r) => `${f(r.rssBeforeKiB)} → ${f(r.rssAfterKiB)}`);
  line("RSS per idle socket", (r) => `${r.rssPerSocketKiB} KiB`);
  line("fan-out: published/s, delivered", (r) => `${f(r.phases.fanout.publishedPerS)}/s, ${f(r.phases.fanout.delivered)} of ${f(r.phases.fanout.published)}`);
  line("fan-out latency p50 / p99 / max", (r) => { const l = r.phases.fanout.latencyMs; return `${l.p50} / ${l.p99} / ${l.max} ms`; });
  line("fan-out CPU % server / redis / publisher", (r) => { const c = r.phases.fanout.cpu; return `${c.server} / ${c.redis} / ${c.publisher}`; });
  line("saturation: deliveries/s", (r) => `**${f(r.phases.saturation.deliveredPerS)}** (published ${f(r.phases.saturation.publishedPerS)}/s)`);
  line("saturation: latency p50 / p99", (r) => { const l = r.phases.saturation.latencyMs; return `${l.p50} / ${l.p99} ms`; });
  line("saturation: CPU % server / redis / publisher / clients", (r) => { const c = r.phases.saturation.cpu; return `${c.server} / ${c.redis} / ${c.publisher} / ${Object.keys(c).filter((k) => k.startsWith("client")).map((k) => c[k]).join("+")}`; });
  line("run-queue wait % server / redis (fan-out; saturation)", (r) => `${r.phases.fanout.cpu.wait.server} / ${r.phases.fanout.cpu.wait.redis}; ${r.phases.saturation.cpu.wait.server} / ${r.phases.saturation.cpu.wait.redis}`);
  line("saturation: deliveries per server CPU-second", (r) => f(r.phases.saturation.deliveredPerServerCpuS));
  line("missing after drain (fan-out, saturation); closes", (r) => `${r.phases.fanout.missing}, ${r.phases.saturation.missing}; ${r.phases.fanout.unexpectedCloses + r.phases.saturation.unexpectedCloses}`);
  line("load average (fan-out start → end)", (r) => r.phases.fanout.load);
  if (rows.length === 2) {
    const [a, b] = rows;
    console.log(`\n${a.target}/${b.target}: deliveries/s ${(a.phases.saturation.deliveredPerS / b.phases.saturation.deliveredPerS).toFixed(2)}x, per server CPU-second ${(a.phases.saturation.deliveredPerServerCpuS / b.phases.saturation.deliveredPerServerCpuS).toFixed(2)}x, fan-out p99 ${a.phases.fanout.latencyMs.p99} vs ${b.phases.fanout.latencyMs.p99} ms`);
  }' "$OUT"

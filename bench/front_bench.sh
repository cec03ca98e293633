#!/usr/bin/env bash
# The FastCGI front (issue 12), before and after, alternating in one run:
#   nginx static (/nginx-ping), the nginx → instant-upstream ceiling
#   (bench/ceiling.sh), /api/v1/ping, cached GET /books/:id over 10,000 ids,
#   GET /books?limit=20, uncached GET /books/:id (CACHE_ENABLED=0), each
#   with wrk -t2 -c64 and -c512; CPU per request from /proc ticks (the fcgi
#   processes, and fcgi + nginx + Redis) and Postgres transactions per request.
#
# Variants are fcgi builds with their settings, "name=build_dir:env...":
#   bench/front_bench.sh "before=var/before/build:FCGI_THREADS=40:NGINX_KEEPALIVE=32:LOCAL_SOCKETS=0 \
#                         after=build:FCGI_THREADS=16:NGINX_KEEPALIVE=32"
# Run against a bench stack (scripts/stack up with HTTP_PORT etc. and
# BAZAAR_VAR_DIR=var/bench). ROUNDS (default 2) alternations.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
CEIL="http://127.0.0.1:$((PORT + 3))/"
VAR=$(realpath -m "${BAZAAR_VAR_DIR:-$ROOT/var}")
ROUNDS=${ROUNDS:-2}
variants=${1:?usage: bench/front_bench.sh "name=build_dir:VAR=v... name2=..."}
require_stack
HZ=$(getconf CLK_TCK)

seed_books
CEILING_PORT=$((PORT + 3)) "$HERE/ceiling.sh" start
trap 'CEILING_PORT=$((PORT + 3)) "$HERE/ceiling.sh" stop' EXIT

BENCH_ENV=(RATE_LIMIT_API_LIMIT=1000000000 RATE_LIMIT_AUTH_LIMIT=1000000000 RATE_LIMIT_EXEMPT_IPS=)

# use VARIANT_SPEC [extra env] — restarts fcgi (and nginx, for its keepalive) as the variant.
use() {
    local spec=$1
    shift
    local build=${spec%%:*} envs=()
    [[ $spec == *:* ]] && IFS=: read -ra envs <<<"${spec#*:}"
    env BUILD_DIR="$ROOT/$build" "${envs[@]}" "${BENCH_ENV[@]}" "$@" "$ROOT/scripts/stack" svc restart fcgi >/dev/null
    env "${envs[@]}" "$ROOT/scripts/stack" svc restart nginx >/dev/null
    for _ in $(seq 1 100); do curl -sf "$BASE/api/v1/ping" >/dev/null && return 0; sleep 0.1; done
    echo "fcgi did not come back" >&2
    exit 1
}

ticks_of() {  # utime + stime of the pids in the files given
    local sum=0 f pid
    for f in "$@"; do
        [[ -f $f ]] || continue
        for pid in $(cat "$f") $(pgrep -P "$(cat "$f")" 2>/dev/null || true); do
            [[ -r /proc/$pid/stat ]] || continue
            sum=$((sum + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
        done
    done
    echo "$sum"
}
fcgi_pids() { ls "$VAR"/run/fcgi-*.pid; }

# measure LABEL URL CONNS [wrk args] — req/s, p99, CPU µs per request, Postgres tx per request.
measure() {
    local label=$1 url=$2 conns=$3
    shift 3
    local f0 a0 x0 out f1 a1 x1 n
    f0=$(ticks_of $(fcgi_pids)); a0=$(ticks_of $(fcgi_pids) "$VAR/run/nginx.pid" "$VAR/run/redis.pid")
    x0=$(xacts)
    out=$(wrk -t"$THREADS" -c"$conns" -d"$DURATION" --latency "$@" "$url")
    f1=$(ticks_of $(fcgi_pids)); a1=$(ticks_of $(fcgi_pids) "$VAR/run/nginx.pid" "$VAR/run/redis.pid")
    x1=$(xacts)
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    local rps p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | paste -sd ';' || true)
    RPS[$label]=$rps
    # Postgres statistics lag up to 10 s behind; the tx figure is a bound
    # that the uncached runs (one tx per request) show is tight enough.
    awk -v l="$label" -v c="$conns" -v r="$rps" -v p="$p99" -v n="$n" -v hz="$HZ" \
        -v f=$((f1 - f0)) -v a=$((a1 - a0)) -v x=$((x1 - x0)) -v e="${errors:-ok}" \
        'BEGIN { printf "%-30s c%-4s %9s req/s  p99 %-8s fcgi %6.1f us/req  fcgi+nginx+redis %6.1f us/req  pg tx/req %.4f  %s\n",
                 l, c, r, p, f * 1e6 / hz / n, a * 1e6 / hz / n, x / n, e }'
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), wrk -t${THREADS} -d${DURATION}, books $BOOK_ID_MIN..$BOOK_ID_MAX"
wrk -t2 -c16 -d10s -s "$HERE/lua/every_book.lua" "$BASE" >/dev/null  # warm every id once
for round in $(seq 1 "$ROUNDS"); do
    for v in $variants; do
        name=${v%%=*} spec=${v#*=} last=${v#*=}
        echo "## round $round: $name ($spec)"
        use "$spec" CACHE_ENABLED=1
        wrk_run warm "$BASE/api/v1/ping" 3s >/dev/null
        for c in 64 512; do
            measure "$name nginx-static" "$BASE/nginx-ping" $c
            measure "$name ceiling" "$CEIL" $c
            measure "$name ping" "$BASE/api/v1/ping" $c
            measure "$name books-id-cached" "$BASE" $c -s "$HERE/lua/random_book.lua"
        done
        measure "$name books-list-cached" "$BASE/api/v1/books?limit=20" 64
        use "$spec" CACHE_ENABLED=0
        measure "$name books-id-uncached" "$BASE" 64 -s "$HERE/lua/random_book.lua"
    done
done
use "$last"

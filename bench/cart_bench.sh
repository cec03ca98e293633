#!/usr/bin/env bash
# Cart benchmark (issue 8), one run against a running stack:
#   - /api/v1/ping: the same-run floor of the request path
#   - POST /api/v1/cart/items, wrk -t2 -c64, rotating over USERS users (64)
#     and BOOKS (10) books: req/s, p99
#   - durable-copy lag: time from the end of the run until every user's
#     Postgres cart has the version of its Redis cart (the write-behind
#     flusher, bazaar/cart/cart_flush.hpp)
#   - coalescing: Postgres snapshot writes (carts rows inserted/updated) per request
# The fcgi processes run with the rate limits raised (the GCRA script still
# runs on every request but never refuses) and are restarted with the stack's
# own settings at the end.
#
# Usage: same environment as `scripts/stack up` (HTTP_PORT, PG_PORT,
# REDIS_PORT, BAZAAR_VAR_DIR, BUILD_DIR...), then bench/cart_bench.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

USERS=${USERS:-64}
BOOKS=${BOOKS:-10}  # distinct books per cart: a cart holds up to BOOKS lines
require_stack

seed_books
first=$BOOK_ID_MIN
export BOOKS
"${PSQL[@]}" -c "UPDATE books SET stock = 1000 WHERE id BETWEEN $first AND $first + $BOOKS - 1" >/dev/null

trap 'restart_fcgi; rm -rf "$work"' EXIT
work=$(mktemp -d)
restart_fcgi RATE_LIMIT_API_LIMIT=1000000000 RATE_LIMIT_AUTH_LIMIT=1000000000 RATE_LIMIT_EXEMPT_IPS=

# Users made through the API (argon2id: ~0.1 s each), their tokens and ids.
export TOKENS_FILE=$work/tokens
: >"$TOKENS_FILE"
: >"$work/ids"
stamp=$(date +%s%N)
for i in $(seq 1 "$USERS"); do
    out=$(curl -sf -H 'Content-Type: application/json' \
        -d "{\"email\":\"cartbench-$stamp-$i@example.com\",\"username\":\"cb$i\",\"password\":\"bench-password-1\"}" \
        "$BASE/api/v1/auth/register")
    node -e 'const d = JSON.parse(process.argv[1]).data; console.log(d.accessToken + " " + d.user.id)' "$out" |
        while read -r token id; do echo "$token" >>"$TOKENS_FILE"; echo "$id" >>"$work/ids"; done
done

writes() { "${PSQL[@]}" -c "SELECT n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE relname = 'carts'"; }
# Users whose Postgres cart lags their Redis cart: one redis-cli (pipelined
# HGETs) and one psql per poll, so a poll costs a few ms, not USERS processes.
lagging() {
    local values
    values=$(sed 's/.*/HGET {u:&}:cart v/' "$work/ids" | "${RCLI[@]}" |
        paste -d' ' "$work/ids" - | awk -v q="'" '{printf "%s(%s%s%s::uuid,%s)", (NR > 1 ? "," : ""), q, $1, q, ($2 == "" ? 0 : $2)}')
    "${PSQL[@]}" -c "SELECT count(*) FROM (VALUES $values) AS r(id, v)
                     LEFT JOIN carts c ON c.user_id = r.id WHERE coalesce(c.version, 0) <> r.v"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, $USERS users, $BOOKS books"
wrk_run warmup "$BASE/api/v1/cart/items" 3s -s "$HERE/lua/cart_set.lua" >/dev/null
wrk_run api-ping "$BASE/api/v1/ping"
sleep 11  # pg_stat counters are published by idle backends
before=$(writes)
out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/lua/cart_set.lua" "$BASE/api/v1/cart/items")
end=$(date +%s%N)
while [[ $(lagging) != 0 ]]; do
    if (( ($(date +%s%N) - end) / 1000000 > 60000 )); then echo "durable copy still lagging after 60 s" >&2; break; fi
    sleep 0.05
done
poll_end_ms=$(( ($(date +%s%N) - end) / 1000000 ))
n=$(awk '/requests in/ {print $1}' <<<"$out")
RPS[cart-set]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | paste -sd ';' || true)
printf '%-28s %10s req/s   p99 %-9s %s\n' cart-set "${RPS[cart-set]}" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")" "${errors:-no errors}"
ratio api-ping cart-set
# (polled: an upper bound by one poll, a few ms; the flusher's own figure is
# in bazaar-worker's log and bazaar_cart_flush_writes_total)
echo "durable copy caught up     ${poll_end_ms} ms after the run (every user's Postgres version = Redis version)"
sleep 11
after=$(writes)
awk -v d=$((after - before)) -v n="$n" \
    'BEGIN { printf "Postgres cart writes       %d for %d requests (%.3f per request)\n", d, n, d / n }'

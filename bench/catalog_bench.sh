#!/usr/bin/env bash
# Catalog and auth benchmark (issue 4), in one run against a running stack:
#   - /nginx-ping and /api/v1/ping: the floors of the request path
#   - cached GET /api/v1/books/:id over random ids among 10,000 books
#   - cached GET /api/v1/books?limit=20
#   - the same GET /books/:id with the cache disabled (CACHE_ENABLED=0)
#   - Postgres transactions per request (pg_stat_database.xact_commit delta)
#   - login cost per call, and cached reads while logins flood the server
#     (bounded hashing concurrency, LOGIN_CONCURRENCY / LOGIN_QUEUE)
# The fcgi processes are restarted with bench settings (rate limits raised so
# the GCRA script still runs on every request but never refuses; cache on or
# off) and restarted with the stack's own settings at the end.
#
# Usage: same environment as `scripts/stack up` (HTTP_PORT, PG_PORT,
# BAZAAR_VAR_DIR, BUILD_DIR...), then bench/catalog_bench.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

require_stack

seed_books

trap 'restart_fcgi' EXIT

# Backends publish their statistics when idle, at most every 10 s in PG 15.
settle() { sleep 11; }
requests_of() { awk '/requests in/ {print $1}' <<<"$1"; }

# pg_per_request LABEL URL [wrk args] — runs wrk and prints Postgres
# transactions per request, measured around the run.
pg_per_request() {
    local label=$1 url=$2
    shift 2
    settle
    local before after out n
    before=$(xacts)
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$url")
    settle
    after=$(xacts)
    n=$(requests_of "$out")
    RPS[$label]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    P99[$label]=$(awk '$1 == "99%" {print $2}' <<<"$out")
    local errors
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | paste -sd ';' || true)
    printf '%-28s %10s req/s   p99 %-9s %s\n' "$label" "${RPS[$label]}" "${P99[$label]}" "${errors:-no errors}"
    awk -v d=$((after - before)) -v n="$n" -v l="$label" \
        'BEGIN { printf "%-28s %.4f Postgres transactions per request (%d over %d requests)\n", l, d / n, d, n }'
}

BENCH_ENV=(RATE_LIMIT_API_LIMIT=1000000000 RATE_LIMIT_AUTH_LIMIT=1000000000 RATE_LIMIT_EXEMPT_IPS=)

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, books $BOOK_ID_MIN..$BOOK_ID_MAX"
restart_fcgi "${BENCH_ENV[@]}" CACHE_ENABLED=1
wrk -t2 -c16 -d10s -s "$HERE/lua/every_book.lua" "$BASE" >/dev/null  # warm every id
wrk_run warmup "$BASE/api/v1/ping" 3s >/dev/null
wrk_run nginx-ping "$BASE/nginx-ping"
wrk_run api-ping "$BASE/api/v1/ping"
pg_per_request books-id-cached "$BASE" -s "$HERE/lua/random_book.lua"
pg_per_request books-list-cached "$BASE/api/v1/books?limit=20"
ratio api-ping books-id-cached
ratio api-ping books-list-cached

restart_fcgi "${BENCH_ENV[@]}" CACHE_ENABLED=0
pg_per_request books-id-uncached "$BASE" -s "$HERE/lua/random_book.lua"
ratio api-ping books-id-uncached
ratio books-id-cached books-id-uncached

echo "# login (argon2id, LOGIN_CONCURRENCY=${LOGIN_CONCURRENCY:-1} per process)"
restart_fcgi "${BENCH_ENV[@]}" CACHE_ENABLED=1
out=$(wrk -t1 -c1 -d10s --latency -s "$HERE/lua/login.lua" "$BASE/api/v1/auth/login")
printf '%-28s %10s req/s   mean %s (one client: the cost of one login)\n' login-serial \
    "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")" "$(awk '/Latency/ {print $2; exit}' <<<"$out")"
out=$(wrk -t1 -c8 -d10s --latency -s "$HERE/lua/login.lua" "$BASE/api/v1/auth/login")
printf '%-28s %10s req/s   p99 %s %s\n' login-c8 "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")" "$(grep -E "Non-2xx" <<<"$out" | tr -s ' ' || echo '')"

echo "# cached reads while 48 clients flood /auth/login"
wrk -t1 -c48 -d20s -s "$HERE/lua/login.lua" "$BASE/api/v1/auth/login" >/tmp/catalog-bench-login.$$ 2>&1 &
flood=$!
sleep 3
CONNECTIONS=16 wrk_run books-id-during-logins "$BASE" 10s -s "$HERE/lua/random_book.lua"
CONNECTIONS=16 wrk_run api-ping-during-logins "$BASE/api/v1/ping" 5s
wait $flood
printf '%-28s %10s req/s   %s\n' login-flood-c48 "$(awk '/^Requests\/sec:/ {print $2}' /tmp/catalog-bench-login.$$)" \
    "$(grep -E "Non-2xx" /tmp/catalog-bench-login.$$ | tr -s ' ' || echo 'all 2xx')"
rm -f /tmp/catalog-bench-login.$$
CONNECTIONS=16 wrk_run books-id-c16-no-logins "$BASE" 10s -s "$HERE/lua/random_book.lua"

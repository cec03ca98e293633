#!/usr/bin/env bash
# Near cache benchmark (issue 12 item 2), in one run against a running stack:
# cached GET /api/v1/books/:id over random ids among 10,000 books against
# /api/v1/ping, with NEAR_CACHE=off and =on alternating (off, on, off, on),
# so machine noise hits both alike. Two client settings:
#   - limited: rate limits on for 127.0.0.1 (the GCRA script runs on every
#     request, as for a real client), so a near hit still makes the one
#     round trip of the rate-limit check, without the cache lookup in it;
#   - exempt: 127.0.0.1 in RATE_LIMIT_EXEMPT_IPS, so a near hit makes no
#     Redis round trip at all (health checkers, internal callers).
# The fcgi processes are restarted for each setting and with the stack's own
# settings at the end. Prints req/s, p99 and ratios to ping of the same round.
#
# Usage: same environment as `scripts/stack up` (HTTP_PORT, PG_PORT,
# BAZAAR_VAR_DIR...), then bench/near_cache_bench.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

require_stack

seed_books

trap 'restart_fcgi' EXIT

near_hits() { curl -s "$BASE/metrics" | awk '$1 == "bazaar_cache_near_hits_total" {print $2}'; }

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, books $BOOK_ID_MIN..$BOOK_ID_MAX"
for client in limited exempt; do
    if [[ $client == limited ]]; then
        LIMITS=(RATE_LIMIT_API_LIMIT=1000000000 RATE_LIMIT_AUTH_LIMIT=1000000000 RATE_LIMIT_EXEMPT_IPS=)
    else
        LIMITS=(RATE_LIMIT_EXEMPT_IPS=127.0.0.1)
    fi
    for round in 1 2; do
        for near in off on; do
            restart_fcgi "${LIMITS[@]}" CACHE_ENABLED=1 NEAR_CACHE=$near
            # Every id into Redis, then (near on) into each process's memory.
            wrk -t2 -c16 -d6s -s "$HERE/lua/every_book.lua" "$BASE" >/dev/null
            wrk -t2 -c16 -d6s -s "$HERE/lua/every_book.lua" "$BASE" >/dev/null
            wrk_run warmup "$BASE/api/v1/ping" 3s >/dev/null
            h0=$(near_hits)
            wrk_run "$client-ping-$near-$round" "$BASE/api/v1/ping"
            wrk_run "$client-book-$near-$round" "$BASE" "$DURATION" -s "$HERE/lua/random_book.lua"
            echo "    near hits during the book run: $(($(near_hits) - h0))"
            ratio "$client-ping-$near-$round" "$client-book-$near-$round"
        done
    done
done

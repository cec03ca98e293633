#!/usr/bin/env bash
# The write path side by side with the Node stack we replace (issue 20), in
# one run on one machine: the same load against this stack (scripts/stack up)
# and against ../shared/peers/node-bazaar (Express + node-redis + BullMQ,
# 2 API processes, its own Postgres 15 and Redis 7), then the ratios.
#   cart      POST /api/v1/cart/items, wrk -c64, 64 users over 20 books
#   checkout  POST /api/v1/orders uncontended: every buyer has one line of a
#             book with ample stock in the cart and checks out once with its
#             own Idempotency-Key; orders/s, p50, p99 at 64 in flight
#   race      the peer's own bench/orders.js on both: 500 buyers race for
#             100 copies of one book; exactly 100 sold, answers/s
#   (default: all three)
# Buyers are inserted into each stack's Postgres and their tokens signed with
# that stack's secret (no argon2 per buyer). The peer is copied to PEER_DIR
# (/tmp/peer), installed (npm ci) and started if it is not running; it is
# left running (PEER_STOP=1 stops it at the end). Our fcgi processes run with
# the rate limits raised and get the stack's settings back at the end.
# Environment: the stack's (HTTP_PORT...), DURATION (10s), CONNECTIONS (64),
# DURING (a profiling command, see during()), SIDES ("ours peer": one of them for a profile), PEER_DIR, PEER_HTTP (http://127.0.0.1:28080), PEER_PG_PORT (35432).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

PEER_DIR=${PEER_DIR:-/tmp/peer}
PEER_HTTP=${PEER_HTTP:-http://127.0.0.1:28080}
PEER_PSQL=(psql -h 127.0.0.1 -p "${PEER_PG_PORT:-35432}" -U postgres -d bazaar -tAq)
PEER_SECRET=${PEER_JWT_SECRET:-peer-dev-secret-change-me}
DURATION=${DURATION:-10s}
CART_BOOKS=${CART_BOOKS:-20}
what=${1:-all}
require_stack

start_peer() {
    curl -sf "$PEER_HTTP/api/v1/health" >/dev/null && return 0
    if [[ ! -x $PEER_DIR/run.sh ]]; then
        cp -r "$ROOT/../shared/peers/node-bazaar" "$PEER_DIR"
        (cd "$PEER_DIR" && npm ci --no-audit --no-fund >/dev/null)
    fi
    # Its own secret, never the one bench/run exported for this stack.
    (cd "$PEER_DIR" && { ./stop.sh >/dev/null 2>&1 || true; } && JWT_SECRET=$PEER_SECRET ./run.sh >"$PEER_DIR/run.log" 2>&1 </dev/null)
}
start_peer
work=$(mktemp -d)
trap 'restart_fcgi; rm -rf "$work"; [[ ${PEER_STOP:-0} == 1 ]] && (cd "$PEER_DIR" && ./stop.sh) >/dev/null' EXIT
restart_fcgi RATE_LIMIT_API_LIMIT=1000000000 RATE_LIMIT_AUTH_LIMIT=1000000000 RATE_LIMIT_EXEMPT_IPS=

# tokens SECRET IDS_FILE OUT_FILE: an HS256 access token per user id.
tokens() {
    node -e '
        const c = require("crypto"), fs = require("fs");
        const [secret, ids, out] = process.argv.slice(1);
        const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000), head = b64({ alg: "HS256", typ: "JWT" });
        fs.writeFileSync(out, fs.readFileSync(ids, "utf8").split("\n").filter(Boolean).map((id) => {
            const body = b64({ sub: id, role: "user", iat: now - 1, exp: now + 3600 });
            return `${head}.${body}.${c.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url")}`;
        }).join("\n") + "\n");' "$1" "$2" "$3"
}

# buyers SIDE N FILE: N new users in SIDE's Postgres (ours|peer), tokens in FILE.
buyers() {
    local -a q
    if [[ $1 == ours ]]; then q=("${PSQL[@]}"); else q=("${PEER_PSQL[@]}"); fi
    "${q[@]}" -c "INSERT INTO users (email, username, password_hash)
        SELECT 'peerbench-' || gen_random_uuid() || '@example.com', 'pb',
               '\$argon2id\$v=19\$m=65536,t=3,p=1\$c29tZXNhbHRzYWx0\$aGFzaGhhc2hoYXNoaGFzaGhhc2g'
        FROM generate_series(1, $2) RETURNING id" >"$work/ids"
    if [[ $1 == ours ]]; then tokens "$(<"${BAZAAR_VAR_DIR:-$ROOT/var}/secrets/jwt_secret")" "$work/ids" "$3"
    else tokens "$PEER_SECRET" "$work/ids" "$3"; fi
}

# books SIDE N STOCK: N new books, their first id on stdout.
books() {
    local -a q
    if [[ $1 == ours ]]; then q=("${PSQL[@]}"); else q=("${PEER_PSQL[@]}"); fi
    "${q[@]}" -c "WITH b AS (INSERT INTO books (title, author, price_cents, stock)
        SELECT 'Peer bench ' || g, 'B', 1000, $3 FROM generate_series(1, $2) g RETURNING id)
        SELECT min(id) FROM b"
}

base_of() { if [[ $1 == ours ]]; then echo "$BASE"; else echo "$PEER_HTTP"; fi; }
idle_of() { if [[ $1 == ours ]]; then echo /api/v1/ping; else echo /api/v1/books/1; fi; }

# DURING: a command run 2 s into each measured wrk run (a profiler:
# perf record, INFO commandstats...), in the background.
during() { if [[ -n ${DURING:-} ]]; then (sleep 2; eval "$DURING") & fi; }

declare -A P50
# measure LABEL OUTPUT: the figures of one wrk run.
measure() {
    RPS[$1]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$2")
    P50[$1]=$(awk '$1 == "50%" {print $2}' <<<"$2")
    P99[$1]=$(awk '$1 == "99%" {print $2}' <<<"$2")
    local errors
    errors=$(grep -E "Non-2xx|Socket errors|^STATUSES" <<<"$2" | tr -s ' ' | paste -sd ';' || true)
    printf '%-24s %10s req/s   p50 %-9s p99 %-9s %s\n' "$1" "${RPS[$1]}" "${P50[$1]}" "${P99[$1]}" "${errors:-no errors}"
}

cart() {
    local side=$1 first
    first=$(books "$side" "$CART_BOOKS" 1000000)
    buyers "$side" 64 "$work/cart-$side"
    local env=(TOKENS_FILE="$work/cart-$side" BOOK_ID_MIN="$first" BOOKS="$CART_BOOKS")
    env "${env[@]}" wrk -t"$THREADS" -c16 -d3s -s "$HERE/lua/cart_set.lua" "$(base_of "$side")/api/v1/cart/items" >/dev/null
    during
    measure "cart-$side" "$(env "${env[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -s "$HERE/lua/cart_set.lua" "$(base_of "$side")/api/v1/cart/items")"
}

checkout() {
    local side=$1 n=$2 first
    first=$(books "$side" 2000 1000000)
    buyers "$side" "$n" "$work/co-$side"
    local env=(TOKENS_FILE="$work/co-$side" BOOK_ID_MIN="$first" BOOKS=2000 THREADS="$THREADS" IDLE_PATH="$(idle_of "$side")")
    env "${env[@]}" MODE=fill wrk -t"$THREADS" -c"$CONNECTIONS" -d"$(( n / 300 + 5 ))s" \
        -s "$HERE/lua/checkout.lua" "$(base_of "$side")/api/v1/cart/items" >/dev/null
    during
    measure "checkout-$side" "$(env "${env[@]}" MODE=checkout wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
        -s "$HERE/lua/checkout.lua" "$(base_of "$side")/api/v1/orders")"
}

race() {
    local side=$1 admin
    buyers "$side" 500 "$work/race-$side"
    if [[ $side == ours ]]; then admin=(--admin-email admin@example.com --admin-password admin-password-1)
    else admin=(); fi
    local out
    out=$(node "$PEER_DIR/bench/orders.js" "$(base_of "$side")" --tokens "$work/race-$side" "${admin[@]}" 2>&1 || true)
    grep -E '201 created|units sold|race wall|latency|RESULT' <<<"$out" | sed "s/^/  [$side] /"
    RPS[race-$side]=$(sed -nE 's/.*order_req_s=([0-9]+).*/\1/p' <<<"$out")
}

ratio_line() {
    awk -v a="${RPS[$1-ours]}" -v b="${RPS[$1-peer]}" -v l="$1" \
        'BEGIN { printf "%-24s %.2fx the Node stack'"'"'s req/s\n", l, a / b }'
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}"
for side in ${SIDES:-ours peer}; do
    case "$what" in cart | all) cart "$side" ;; esac
    if [[ $side == ours ]]; then n=${OUR_BUYERS:-30000}; else n=${PEER_BUYERS:-12000}; fi
    case "$what" in checkout | all) checkout "$side" "$n" ;; esac
    case "$what" in race | all) race "$side" ;; esac
done
for k in cart checkout race; do [[ -n ${RPS[$k-ours]:-} && -n ${RPS[$k-peer]:-} ]] && ratio_line "$k"; done
exit 0

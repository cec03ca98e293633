#!/usr/bin/env bash
# Checkout benchmark (issue 9), one run against a running stack:
#   - /api/v1/ping: the same-run floor of the request path
#   - POST /api/v1/orders without contention: every buyer's cart holds a
#     different book (BOOKS books, plenty of stock): orders/s, p50, p99
#   - with heavy contention: every buyer wants the same book (STOCK of it):
#     answers/s (201 and 409 OUT_OF_STOCK), p50, p99, and the oversell check
#     (orders of the book = STOCK, books.stock = 0, Redis counter = 0)
# Buyers are inserted into Postgres and their tokens signed with the stack's
# JWT secret (no argon2 per user); each buyer checks out once, so USERS must
# exceed what one run can serve (a thread out of buyers sends pings, counted
# apart). The fcgi processes run with the rate limits raised and are
# restarted with the stack's own settings at the end.
#
# Usage: the environment of `scripts/stack up` (HTTP_PORT, PG_PORT,
# REDIS_PORT, BAZAAR_VAR_DIR...), then bench/checkout_bench.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

USERS=${USERS:-20000}
BOOKS=${BOOKS:-2000}
STOCK=${STOCK:-2000}
DURATION=${DURATION:-10s}
VAR=${BAZAAR_VAR_DIR:-var}
require_stack

work=$(mktemp -d)
trap 'restart_fcgi; rm -rf "$work"' EXIT
restart_fcgi RATE_LIMIT_API_LIMIT=1000000000 RATE_LIMIT_AUTH_LIMIT=1000000000 RATE_LIMIT_EXEMPT_IPS=

# buyers N FILE: N users in Postgres, their tokens in FILE.
buyers() {
    "${PSQL[@]}" -c "INSERT INTO users (email, username, password_hash)
        SELECT 'cobench-' || gen_random_uuid() || '@example.com', 'cb',
               '\$argon2id\$v=19\$m=65536,t=3,p=1\$c29tZXNhbHRzYWx0\$aGFzaGhhc2hoYXNoaGFzaGhhc2g'
        FROM generate_series(1, $1) RETURNING id" >"$work/ids"
    node -e '
        const c = require("crypto"), fs = require("fs");
        const secret = fs.readFileSync(process.argv[1], "utf8").trim();
        const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000), head = b64({ alg: "HS256", typ: "JWT" });
        const out = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map((id) => {
            const body = b64({ sub: id, role: "user", iat: now - 1, exp: now + 3600 });
            return `${head}.${body}.${c.createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url")}`;
        });
        fs.writeFileSync(process.argv[3], out.join("\n") + "\n");' \
        "$VAR/secrets/jwt_secret" "$work/ids" "$2"
}

# fill FILE FIRST_BOOK NBOOKS: one cart line per buyer (wrk until done).
fill() {
    TOKENS_FILE=$1 BOOK_ID_MIN=$2 BOOKS=$3 MODE=fill THREADS=$THREADS \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$(( $(wc -l <"$1") / 300 + 5 ))s" -s "$HERE/lua/checkout.lua" "$BASE/api/v1/cart/items" >/dev/null
    local lines
    lines=$("${PSQL[@]}" -c "SELECT count(*) FROM cart_items WHERE book_id BETWEEN $2 AND $2 + $3 - 1")
    echo "carts filled: $lines of $(wc -l <"$1") (Postgres copy; Redis is the live cart)"
}

# run LABEL FILE: the checkout run; prints req/s, p50, p99 and statuses.
run() {
    local out
    out=$(TOKENS_FILE=$2 MODE=checkout THREADS=$THREADS \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/lua/checkout.lua" "$BASE/api/v1/orders")
    local rps p50 p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | paste -sd ';' || true)
    RPS[$1]=$rps
    printf '%-28s %10s req/s   p50 %-9s p99 %-9s %s\n' "$1" "$rps" "$p50" "$p99" "${errors:-no errors}"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}, $USERS buyers per run"
wrk_run api-ping "$BASE/api/v1/ping" 5s

# ---- no contention: BOOKS distinct books, a buyer's line is one of them
first=$("${PSQL[@]}" -c "INSERT INTO books (title, author, price_cents, stock)
    SELECT 'Checkout bench ' || g, 'B', 1000, 1000000 FROM generate_series(1, $BOOKS) g RETURNING id" | head -1)
buyers "$USERS" "$work/t1"
fill "$work/t1" "$first" "$BOOKS"
before=$("${PSQL[@]}" -c "SELECT count(*) FROM orders")
run checkout-distinct "$work/t1"
after=$("${PSQL[@]}" -c "SELECT count(*) FROM orders")
echo "orders created: $((after - before))"

# ---- heavy contention: one book, STOCK copies, every buyer wants one
hot=$("${PSQL[@]}" -c "INSERT INTO books (title, author, price_cents, stock) VALUES ('Checkout bench hot', 'B', 1000, $STOCK) RETURNING id")
buyers "$USERS" "$work/t2"
fill "$work/t2" "$hot" 1
run checkout-contended "$work/t2"
# Requests still inside fcgi when wrk stopped: let their holds settle.
for _ in $(seq 1 300); do [[ $("${RCLI[@]}" ZCARD "{stock}:holds") == 0 ]] && break; sleep 0.1; done
sold=$("${PSQL[@]}" -c "SELECT count(*) FROM order_items WHERE book_id = $hot")
left=$("${PSQL[@]}" -c "SELECT stock FROM books WHERE id = $hot")
counter=$("${RCLI[@]}" HGET "{stock}:b:$hot" a)
echo "contended book: stock $STOCK, orders $sold, books.stock $left, Redis counter $counter"
if (( left >= 0 && sold + left == STOCK )) && [[ $counter == "$left" ]]; then
    echo "no oversell: OK (sold + left = stock, Redis = Postgres)"
else
    echo "MISMATCH"
fi
ratio api-ping checkout-distinct

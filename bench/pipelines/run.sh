#!/usr/bin/env bash
# Issue 11 pipeline benchmark, against a running stack (scripts/stack up with
# bench ports and BAZAAR_VAR_DIR=var/bench), in one run:
#   1. data.import of a ROWS-row CSV feed (default 100,000; ~3 % with quoted
#      commas) dropped in var/import: rows/s over the job's run time, and the
#      running bazaar-worker's peak RSS (VmHWM) before and after; the same
#      rows loaded by psql \copy into a temporary table is the reference (the
#      floor: no validation, no upsert, no indexes);
#   2. ai.recommendations over ORDERS sold orders (default 10,000, 2-5 books
#      each among 2,000 books), generated with SQL: the job's run time.
# Usage: HTTP_PORT PG_PORT REDIS_PORT BAZAAR_VAR_DIR as for `scripts/stack up`.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
VAR=$(realpath -m "${BAZAAR_VAR_DIR:-$ROOT/var}")
ROWS=${ROWS:-100000}
ORDERS=${ORDERS:-10000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

require_stack
token=$(curl -sf "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@example.com\",\"password\":\"${SEED_ADMIN_PASSWORD:-admin-password-1}\"}" |
    sed -E 's/.*"accessToken":"([^"]+)".*/\1/')

# run_job NAME DATA_JSON — enqueues through the outbox, waits, prints the job's JSON.
run_job() {
    local id="bench-$1-$(date +%s%N)"
    "${PSQL[@]}" -c "INSERT INTO outbox (topic, payload) VALUES ('job:pipelines',
        '{\"name\":\"$1\",\"data\":$2,\"options\":{\"jobId\":\"$id\",\"attempts\":1,\"timeoutMs\":3600000}}'::jsonb);
        NOTIFY bazaar_outbox_jobs" >/dev/null
    local out
    while :; do
        out=$(curl -sf -H "Authorization: Bearer $token" "$BASE/api/v1/admin/queues/pipelines/jobs/$id" || true)
        [[ $out == *'"state":"completed"'* || $out == *'"state":"failed"'* ]] && break
        sleep 0.5
    done
    echo "$out"
}
# Run time of a finished job: finishedAt - processedAt, in seconds.
run_seconds() {
    python3 -c 'import json,sys,datetime as d
j=json.load(sys.stdin)["data"]; p=lambda s: d.datetime.fromisoformat(s.replace("Z","+00:00"))
print("%.2f" % (p(j["finishedAt"]) - p(j["processedAt"])).total_seconds())'
}

# ---- 1. import
run=$((RANDOM % 9000 + 1000))  # ISBNs 978<run><5-digit row>
feed="$WORK/bench-$run.csv"
awk -v n="$ROWS" -v run="$run" 'BEGIN {
    print "isbn,title,author,priceCents,stock,description,tags"
    for (i = 0; i < n; i++) {
        t = sprintf("978%04d%05d", run, i); s = 0
        for (k = 1; k <= 12; k++) s += substr(t, k, 1) * ((k % 2) ? 1 : 3)
        isbn = t ((10 - s % 10) % 10)
        title = (i % 33 == 0) ? sprintf("\"Bench, vol. %d\"", i) : sprintf("Bench book %d", i)
        printf "%s,%s,Author %d,%d,%d,Description of bench book %d,bench|genre-%d\n", isbn, title, i % 500, 100 + i % 9000, i % 40, i, i % 12
    }
}' >"$feed"
echo "feed: $ROWS rows, $(stat -c %s "$feed") bytes"
worker_pid=$(cat "$VAR"/run/worker*.pid 2>/dev/null | head -1)
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$worker_pid/status")
mkdir -p "$VAR/import"
cp "$feed" "$VAR/import/.bench-$run.csv" && mv "$VAR/import/.bench-$run.csv" "$VAR/import/bench-$run.csv"
job=$(run_job data.import "{\"file\":\"bench-$run.csv\"}")
secs=$(run_seconds <<<"$job")
echo "import: $(sed -E 's/.*"returnValue":\{"bad":\[[^]]*\],"badCount":([0-9]+).*"imported":([0-9]+),"unchanged":([0-9]+),"updated":([0-9]+).*/imported \2, updated \4, unchanged \3, bad \1/' <<<"$job") in ${secs} s"
awk -v n="$ROWS" -v s="$secs" 'BEGIN { printf "import rate: %.0f rows/s\n", n / s }'
echo "worker peak RSS (VmHWM): before ${hwm_before} kB, after $(awk '/VmHWM/ {print $2}' "/proc/$worker_pid/status") kB"
t0=$(date +%s.%N)
"${PSQL[@]}" -c "CREATE TEMP TABLE f (isbn text, title text, author text, price int, stock int, d text, tags text)" \
    -c "\\copy f FROM '$feed' WITH (FORMAT csv, HEADER true)" >/dev/null
t1=$(date +%s.%N)
awk -v n="$ROWS" -v a="$t0" -v b="$t1" 'BEGIN { printf "reference psql \\copy to a temp table: %.0f rows/s\n", n / (b - a) }'
# The same feed again: every row unchanged.
cp "$feed" "$VAR/import/bench-$run.csv"
job=$(run_job data.import "{\"file\":\"bench-$run.csv\"}")
secs=$(run_seconds <<<"$job")
awk -v n="$ROWS" -v s="$secs" 'BEGIN { printf "rerun (all unchanged): %.0f rows/s\n", n / s }'

# ---- 2. recommendations over generated sold orders
"${PSQL[@]}" <<SQL >/dev/null
CREATE TEMP TABLE rb AS SELECT id FROM books WHERE deleted_at IS NULL AND isbn LIKE '978$run%' ORDER BY id LIMIT 2000;
CREATE TEMP TABLE ro AS SELECT gen_random_uuid() AS id, g FROM generate_series(1, $ORDERS) g;
INSERT INTO orders (id, user_id, status, total_cents, currency)
    SELECT ro.id, (SELECT id FROM users ORDER BY created_at LIMIT 1), 'PAYMENT_PENDING', 0, 'SEK' FROM ro;
INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity)
    SELECT DISTINCT ON (ro.id, b.id) ro.id, b.id, 'bench', 100, 1
    FROM ro, LATERAL (SELECT rb.id FROM rb ORDER BY random() + ro.g * 0 LIMIT 2 + (ro.g % 4)) b;
UPDATE orders SET status = 'PAID' WHERE id IN (SELECT id FROM ro);
SQL
echo "orders: $("${PSQL[@]}" -c "SELECT count(*) FROM orders WHERE currency = 'SEK' AND status = 'PAID'") sold (SEK), $("${PSQL[@]}" -c "SELECT count(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id WHERE o.currency = 'SEK'") lines"
job=$(run_job ai.recommendations '{}')
echo "recommendations: $(sed -E 's/.*"returnValue":(\{[^}]*\}).*/\1/' <<<"$job") in $(run_seconds <<<"$job") s"

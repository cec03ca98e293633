#!/usr/bin/env bash
# bench/checkout_ceiling.sh — what Postgres alone allows for checkout: the
# ceiling that POST /api/v1/orders figures are reported against.
#
# pgbench (-M prepared, fsync on, the stack's own Postgres and settings) runs
# the work one order must make durable, as ONE transaction: the
# Idempotency-Key row with its stored response (~700 bytes), the conditional
# stock update of one of BOOKS books, the order row, one item, and two outbox
# rows (the expiry job and the live event). The tables are copies of the
# real ones (LIKE ... INCLUDING ALL: defaults, identities, checks, indexes) in a scratch
# schema `bench_ceiling`, dropped at the end, so the bench never touches the
# shop's data. Printed per client count: transactions/s and p99 latency;
# plus an empty transaction (the commit floor) at the highest count.
#
# Usage: the environment of `scripts/stack up`; CLIENTS="16 64" BOOKS=1000
# DURATION=10 bench/checkout_ceiling.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

CLIENTS=${CLIENTS:-16 64}
BOOKS=${BOOKS:-1000}
SECONDS_EACH=${DURATION:-10}
SECONDS_EACH=${SECONDS_EACH%s}
PGB=(pgbench -h 127.0.0.1 -p "${PG_PORT:-15432}" -U "${PG_USER:-postgres}" -n -M prepared -j 2)
DB=${PG_DB:-bazaar}
work=$(mktemp -d)
trap '"${PSQL[@]}" -c "DROP SCHEMA IF EXISTS bench_ceiling CASCADE" >/dev/null; rm -rf "$work"' EXIT

"${PSQL[@]}" >/dev/null <<SQL
DROP SCHEMA IF EXISTS bench_ceiling CASCADE;
CREATE SCHEMA bench_ceiling;
CREATE TABLE bench_ceiling.books (LIKE public.books INCLUDING ALL);
CREATE TABLE bench_ceiling.orders (LIKE public.orders INCLUDING ALL);
CREATE TABLE bench_ceiling.order_items (LIKE public.order_items INCLUDING ALL);
CREATE TABLE bench_ceiling.idempotency_keys (LIKE public.idempotency_keys INCLUDING ALL);
CREATE TABLE bench_ceiling.outbox (LIKE public.outbox INCLUDING ALL);
INSERT INTO bench_ceiling.books (id, title, author, price_cents, stock)
    OVERRIDING SYSTEM VALUE
    SELECT g, 'ceiling ' || g, 'bench', 1000, 100000000 FROM generate_series(1, $BOOKS) g;
ANALYZE bench_ceiling.books;
SQL

cat >"$work/order.sql" <<SQL
\set book random(1, $BOOKS)
BEGIN;
SELECT gen_random_uuid() AS oid, gen_random_uuid() AS uid \gset
INSERT INTO bench_ceiling.idempotency_keys (user_id, key, request_hash, status_code, response_body)
    VALUES (:uid::uuid, :oid, 'c0ffee', 201, repeat('x', 700));
UPDATE bench_ceiling.books SET stock = stock - 1, stock_seq = stock_seq + 1
    WHERE id = :book AND stock >= 1 AND deleted_at IS NULL RETURNING stock_seq, price_cents;
INSERT INTO bench_ceiling.orders (id, user_id, status, total_cents, currency, expires_at)
    VALUES (:oid::uuid, :uid::uuid, 'PAYMENT_PENDING', 1000, 'USD', now() + interval '15 minutes');
INSERT INTO bench_ceiling.order_items (order_id, book_id, title, unit_price_cents, quantity, stock_seq)
    VALUES (:oid::uuid, :book, 'ceiling', 1000, 1, 1);
INSERT INTO bench_ceiling.outbox (topic, payload) VALUES
    (concat('job:', 'order-expiry'), '{"name":"expire","data":{"orderId":"x"}}'),
    ('live', '{"room":"user-x","event":"order.created","data":{}}');
COMMIT;
SQL
printf 'BEGIN;\nCOMMIT;\n' >"$work/empty.sql"

# run LABEL CLIENTS FILE — one pgbench run; prints tps and p99 (ms).
run() {
    "${PGB[@]}" -c "$2" -T "$SECONDS_EACH" -f "$3" -l --log-prefix="$work/log" "$DB" >"$work/out" 2>&1 ||
        { cat "$work/out" >&2; exit 1; }
    local tps p99
    tps=$(awk '/^tps =/ {printf "%.0f", $3}' "$work/out")
    p99=$(cat "$work/log".* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int(NR*0.99)]/1000}')
    rm -f "$work/log".*
    printf '%-34s %8s tx/s   p99 %6s ms\n' "$1" "$tps" "$p99"
}

echo "Postgres ceiling of checkout ($BOOKS books, one transaction per order, ${SECONDS_EACH}s each)"
for c in $CLIENTS; do run "order transaction, $c clients" "$c" "$work/order.sql"; done
last=${CLIENTS##* }
run "empty transaction, $last clients" "$last" "$work/empty.sql"

#!/usr/bin/env bash
# Webhook benchmark (issue 9), one run against a running stack:
#   - GET /api/v1/ping with the same client and concurrency: the same-run floor
#   - POST /api/v1/payments/webhook, payment_intent.succeeded on fresh
#     PAYMENT_PENDING orders (signature + one transaction: dedupe row, the
#     transition with its outbox event, the fulfillment job): the figure
#   - the same events again (duplicates: signature + the dedupe insert)
#   - a type we ignore (signature + the event row)
# Latency per request is measured by the client (bench/webhook/load.mjs,
# keep-alive, CONCURRENCY in flight); p50/p99/max and req/s per phase.
# Orders are inserted straight into Postgres (PAYMENT_PENDING with a test
# intent) so the run measures the webhook, not checkout.
#
# Usage: the environment of `scripts/stack up` (HTTP_PORT, PG_PORT,
# WEBHOOK_SECRET or BAZAAR_VAR_DIR/secrets/webhook_secret), then
#   bench/webhook_bench.sh            ORDERS=2000 CONCURRENCY=8
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"
ORDERS=${ORDERS:-2000}
export CONCURRENCY=${CONCURRENCY:-8}
require_stack
if [[ -z ${WEBHOOK_SECRET:-} ]]; then
    WEBHOOK_SECRET=$(<"${BAZAAR_VAR_DIR:-$ROOT/var}/secrets/webhook_secret")
fi
export WEBHOOK_SECRET HTTP_PORT=$PORT

stamp=$(date +%s%N)
book=$("${PSQL[@]}" -c "SELECT min(id) FROM books WHERE deleted_at IS NULL")
"${PSQL[@]}" >/dev/null <<SQL
INSERT INTO orders (user_id, status, total_cents, currency, expires_at, payment_provider, payment_intent_id)
SELECT u.id, 'PAYMENT_PENDING', 1000, 'USD', now() + interval '1 hour', 'test', 'pi_bench_${stamp}_' || g
FROM generate_series(1, $ORDERS) g, (SELECT id FROM users ORDER BY created_at LIMIT 1) u;
INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity)
SELECT id, $book, 'bench', 1000, 1 FROM orders WHERE payment_intent_id LIKE 'pi_bench_${stamp}_%';
SQL
export INTENT_PREFIX="pi_bench_${stamp}_" ORDERS

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $ORDERS orders, $CONCURRENCY in flight"
node "$HERE/webhook/load.mjs"
paid=$("${PSQL[@]}" -c "SELECT count(*) FROM orders WHERE payment_intent_id LIKE 'pi_bench_${stamp}_%' AND status <> 'PAYMENT_PENDING'")
echo "orders moved past PAYMENT_PENDING: $paid of $ORDERS"

#!/usr/bin/env bash
# Issue 10 image benchmark, in one run:
#   1. variant sets per second for a 3000x2000 JPEG: the worker's code
#      (images_variants_bench, in process) against the vipsthumbnail CLI
#      producing the same three files (150x150 centre crop JPEG, 600 fit
#      progressive JPEG, 600 fit WebP), both with VIPS_CONCURRENCY=1;
#   2. against a running stack (scripts/stack up with bench ports): the
#      202 latency of 5 MB uploads, and the worker's peak RSS (VmHWM) while
#      it processes them with 2 image jobs in parallel.
# Usage: same environment as `scripts/stack up` (HTTP_PORT, BAZAAR_VAR_DIR,
# BUILD_DIR); SETS (default 20), UPLOADS (default 20).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../lib.sh"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
VAR=$(realpath -m "${BAZAAR_VAR_DIR:-$ROOT/var}")
SETS=${SETS:-20}
UPLOADS=${UPLOADS:-20}
WORK=$(mktemp -d)
[[ -x $BUILD_DIR/bench/images_variants_bench ]] || ninja -C "$BUILD_DIR" images_variants_bench >/dev/null
trap 'rm -rf "$WORK"' EXIT
export VIPS_CONCURRENCY=1

cd "$WORK"
vips gaussnoise n.v 3000 2000 && vips cast n.v c.v uchar && vips bandjoin "c.v c.v c.v" rgb.v
vips copy rgb.v big.jpg[Q=90]
echo "input: 3000x2000 JPEG, $(stat -c %s big.jpg) bytes"

# ---- 1. variants: ours vs vipsthumbnail
ours=$("$BUILD_DIR/bench/images_variants_bench" big.jpg "$WORK" "$SETS" 1)
echo "bazaar make_variants: $ours"
t0=$(date +%s.%N)
for ((i = 0; i < SETS; i++)); do
    vipsthumbnail big.jpg --size 150x150 --smartcrop centre -o 'cli-%s-150.jpg[Q=82,strip,optimize_coding,interlace]'
    vipsthumbnail big.jpg --size 600x600 -o 'cli-%s-600.jpg[Q=82,strip,optimize_coding,interlace]'
    vipsthumbnail big.jpg --size 600x600 -o 'cli-%s.webp[Q=80,strip]'
done
t1=$(date +%s.%N)
cli_rate=$(awk -v n="$SETS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / (b - a) }')
our_rate=$(sed -E 's/.*"setsPerS":([0-9.]+).*/\1/' <<<"$ours")
echo "vipsthumbnail CLI (3 runs per set): $cli_rate sets/s"
awk -v a="$our_rate" -v b="$cli_rate" 'BEGIN { printf "ratio: %.0f %% of the CLI rate\n", 100 * a / b }'
for f in cli-big-150.jpg cli-big-600.jpg cli-big.webp t0-150x150.jpg t0-600x600.jpg t0.webp; do
    printf '  %-16s %s %s bytes\n' "$f" "$(vipsheader "$f" | cut -d: -f2 | cut -d, -f1)" "$(stat -c %s "$f")"
done

# ---- 2. uploads through nginx and the worker's RSS
if ! curl -sf "$BASE/api/v1/ping" >/dev/null; then
    echo "no stack on :$PORT: upload latency and worker RSS skipped"
    exit 0
fi
# ~5 MB: a 3000x2000 noise JPEG at Q=95.
vips copy rgb.v five.jpg[Q=95]
echo "upload file: $(stat -c %s five.jpg) bytes"
token=$(curl -sf "$BASE/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"admin@example.com\",\"password\":\"${SEED_ADMIN_PASSWORD:-admin-password-1}\"}" |
    sed -E 's/.*"accessToken":"([^"]+)".*/\1/')
book=$(curl -sf "$BASE/api/v1/books" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"title":"image bench","author":"bench","priceCents":1,"stock":1}' | sed -E 's/.*"id":"([0-9]+)".*/\1/')
worker_pid=$(cat "$VAR"/run/worker*.pid 2>/dev/null | head -1)
hwm_before=$(awk '/VmHWM/ {print $2}' "/proc/$worker_pid/status")
: >"$WORK/lat"
for ((i = 0; i < UPLOADS; i++)); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $token" \
        -H 'Content-Type: image/jpeg' --data-binary @five.jpg "$BASE/api/v1/books/$book/images" >>"$WORK/lat"
done
{ grep -vc '^202 ' "$WORK/lat" || true; } | awk '{ if ($1 > 0) print "non-202 uploads: " $1 }'
sort -k2 -n "$WORK/lat" | awk '{ t[NR] = $2 } END {
    printf "upload 202 latency (%d x 5 MB): p50 %.0f ms, p90 %.0f ms, max %.0f ms\n",
        NR, 1000 * t[int(NR * 0.5 + 0.5)], 1000 * t[int(NR * 0.9 + 0.5)], 1000 * t[NR] }'
PSQL=(psql -h 127.0.0.1 -p "${PG_PORT:-15432}" -U "${PG_USER:-postgres}" -d "${PG_DB:-bazaar}" -tAq)
t0=$(date +%s.%N)
while [[ $("${PSQL[@]}" -c "SELECT count(*) FROM images WHERE book_id = $book AND status = 'processing'") != 0 ]]; do
    sleep 0.2
done
t1=$(date +%s.%N)
echo "processing: $("${PSQL[@]}" -c "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, count(*) n FROM images WHERE book_id = $book GROUP BY status) s")," \
    "drained $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the last 202"
echo "worker peak RSS (VmHWM): before ${hwm_before} kB, after $(awk '/VmHWM/ {print $2}' "/proc/$worker_pid/status") kB" \
    "(WORKER_QUEUE_CONCURRENCY images=${IMAGE_JOBS:-2})"
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $token" "$BASE/api/v1/books/$book"

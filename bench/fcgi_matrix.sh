#!/usr/bin/env bash
# Which process/thread model serves /api/v1/ping best on this machine?
# Restarts nginx and the bazaar-fcgi pool of the running stack with each
# combination of NGINX_WORKERS × NGINX_KEEPALIVE × FCGI_PROCESSES × FCGI_THREADS,
# then measures /nginx-ping and /api/v1/ping back to back (wrk, DURATION each).
# Usage: bench/fcgi_matrix.sh "1:8:2:16 1:32:2:40 2:16:2:40"   (workers:keepalive:procs:threads[:loops])
# Since issue 12 "threads" are the worker-pool threads and the optional fifth
# field the event-loop threads per process (FCGI_LOOPS, 0: one per core).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$HERE/lib.sh"
PORT=${HTTP_PORT:-8080}
combos=${1:-"1:8:2:16 1:32:2:40 1:64:2:72 2:8:2:16 2:32:2:40 1:16:1:32"}
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}"
printf '%-26s %12s %10s %12s %10s %8s\n' "nginx_w:keepalive:P:T" "nginx req/s" "p99" "fcgi req/s" "p99" "ratio"
for c in $combos; do
    IFS=: read -r nw ka p t l <<<"$c"
    export NGINX_WORKERS=$nw NGINX_KEEPALIVE=$ka FCGI_PROCESSES=$p FCGI_THREADS=$t FCGI_LOOPS=${l:-0}
    "$ROOT/scripts/stack" svc stop nginx >/dev/null 2>&1
    "$ROOT/scripts/stack" svc stop fcgi >/dev/null 2>&1
    "$ROOT/scripts/stack" svc start fcgi >/dev/null 2>&1
    "$ROOT/scripts/stack" svc start nginx >/dev/null 2>&1
    wrk_run warm "http://127.0.0.1:$PORT/api/v1/ping" 2s >/dev/null
    wrk_run ngx "http://127.0.0.1:$PORT/nginx-ping" >/dev/null
    wrk_run api "http://127.0.0.1:$PORT/api/v1/ping" >/dev/null
    printf '%-26s %12s %10s %12s %10s %7.1f%%\n' "$c" "${RPS[ngx]}" "${P99[ngx]}" "${RPS[api]}" "${P99[api]}" \
        "$(awk -v a="${RPS[api]}" -v b="${RPS[ngx]}" 'BEGIN{print 100*a/b}')"
done

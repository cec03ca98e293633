#!/usr/bin/env bash
# The floor of the request path: GET /api/v1/ping through nginx → FastCGI
# (no Postgres, no Redis) against GET /nginx-ping answered by nginx itself,
# measured back to back in one run with the same wrk settings.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/lib.sh"

require_stack

echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION}"
wrk_run warmup "http://127.0.0.1:$PORT/api/v1/ping" 3s >/dev/null
wrk_run nginx-ping "http://127.0.0.1:$PORT/nginx-ping"
wrk_run api-ping "http://127.0.0.1:$PORT/api/v1/ping"
ratio nginx-ping api-ping

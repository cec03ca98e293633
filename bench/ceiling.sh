#!/usr/bin/env bash
# bench/ceiling.sh start|stop — the nginx → instant-upstream ceiling (issue 12).
#
# A nginx of its own (one worker, like the stack's) with two servers: one on
# a unix socket answering `return 200` with /api/v1/ping's body, and one on
# 127.0.0.1:CEILING_PORT proxying to it with `keepalive 32`. What it serves is
# the fastest any upstream behind nginx can look on this machine: nginx's own
# proxy work plus a free upstream. bench/front_bench.sh compares the FastCGI
# front against it.
#
# Environment: BAZAAR_VAR_DIR (var), CEILING_PORT (HTTP_PORT + 3).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=$(realpath -m "${BAZAAR_VAR_DIR:-$ROOT/var}")
PORT=${CEILING_PORT:-$((${HTTP_PORT:-8080} + 3))}
DIR=$VAR/bench-ceiling
ARGS=(-p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log")

case "${1:-}" in
    start)
        mkdir -p "$DIR/tmp"
        user=""
        ((EUID == 0)) && user="user nobody nogroup;"
        cat >"$DIR/nginx.conf" <<CONF
$user
worker_processes 1;
pid $DIR/nginx.pid;
error_log $DIR/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    client_body_temp_path $DIR/tmp/body;
    proxy_temp_path $DIR/tmp/proxy;
    fastcgi_temp_path $DIR/tmp/fastcgi;
    uwsgi_temp_path $DIR/tmp/uwsgi;
    scgi_temp_path $DIR/tmp/scgi;
    upstream instant { server unix:$DIR/upstream.sock; keepalive 32; }
    server {
        listen unix:$DIR/upstream.sock;
        keepalive_requests 100000;
        location / {
            default_type "application/json; charset=utf-8";
            return 200 '{"success":true,"data":{"pong":true}}';
        }
    }
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        keepalive_requests 100000;
        location / {
            proxy_pass http://instant;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF
        rm -f "$DIR/upstream.sock"
        [[ -f $DIR/nginx.pid ]] && kill -0 "$(cat "$DIR/nginx.pid")" 2>/dev/null && nginx "${ARGS[@]}" -s stop && sleep 0.5
        rm -f "$DIR/upstream.sock"
        nginx "${ARGS[@]}"
        for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null && exit 0; sleep 0.1; done
        echo "ceiling nginx did not answer on :$PORT" >&2
        exit 1
        ;;
    stop)
        [[ -f $DIR/nginx.pid ]] && kill -0 "$(cat "$DIR/nginx.pid")" 2>/dev/null && nginx "${ARGS[@]}" -s quit
        exit 0
        ;;
    *) echo "usage: bench/ceiling.sh start|stop" >&2; exit 2 ;;
esac

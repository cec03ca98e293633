#!/usr/bin/env bash
# bench/cluster_bench.sh [DELAY_MS...] — issue 13: what the Redis Cluster
# layer costs per operation. For each delay (default: 0, then 1 ms between
# hosts), ROUNDS (2) rounds alternating one Redis and the local 3-master +
# 3-replica cluster, each a whole `scripts/netns bench` (nginx, two fcgi
# hosts, two workers, Redis, Postgres, each in its own namespace): ping,
# cached GET /books/:id, POST /cart/items (wrk), queue throughput
# (queue_bench on a worker host). Prints every run, then cluster / single per
# figure and round. Needs root (ip netns); takes about 3 minutes a run.
# Environment: ROUNDS (2), DURATION (15s), JOBS (20000); see scripts/netns.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-2}
delays=("$@")
[[ ${#delays[@]} -gt 0 ]] || delays=(0 1)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# One run's figures as "name value" lines: req/s and p99 of each wrk label,
# jobs/s processed and added of the queue bench.
figures() {
    awk '
        $3 == "req/s" { print $1 "-rps", $2; print $1 "-p99", $5 }
        /"impl":"bazaar"/ {
            match($0, /"processedPerS":[0-9.]+/); print "queue-processed-per-s", substr($0, RSTART + 16, RLENGTH - 16)
            match($0, /"addPerS":[0-9.]+/); print "queue-added-per-s", substr($0, RSTART + 10, RLENGTH - 10)
        }' "$1"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) bench/cluster_bench.sh: $(nproc) cores, delays ${delays[*]} ms, $ROUNDS rounds"
for delay in "${delays[@]}"; do
    for round in $(seq 1 "$ROUNDS"); do
        for mode in single cluster; do
            echo "## delay $delay ms, round $round, REDIS_MODE=$mode"
            REDIS_MODE=$mode "$ROOT/scripts/netns" bench "$delay" 2>&1 |
                grep -E 'req/s|"impl"|^# ' | tee "$out/$delay-$round-$mode"
        done
        echo "## delay $delay ms, round $round: cluster / single"
        join <(figures "$out/$delay-$round-single" | sort) <(figures "$out/$delay-$round-cluster" | sort) |
            awk '$1 ~ /-p99$/ { printf "  %-26s single %-9s cluster %s\n", $1, $2, $3; next }
                 { printf "  %-26s single %10.0f  cluster %10.0f  ratio %.2f\n", $1, $2, $3, $3 / $2 }'
    done
done

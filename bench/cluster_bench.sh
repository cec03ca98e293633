#!/usr/bin/env bash
# bench/cluster_bench.sh [DELAY_MS...] — issue 13: what the Redis Cluster
# layer costs per operation. For each delay (default: 0, then 1 ms between
# hosts), ROUNDS (2) rounds alternating MODES, each a whole `scripts/netns
# bench` (nginx, two fcgi hosts, two workers, Redis, Postgres, each in its
# own namespace): ping, cached GET /books/:id, POST /cart/items (wrk), queue
# throughput (queue_bench on a worker host). Prints every run, then each
# cluster mode / single per figure and round. Needs root (ip netns); about
# 100 s a run.
# MODES (default "single cluster cluster-nowait"):
#   single          one Redis, no replica (REDIS_WAIT_REPLICAS=0)
#   cluster         3 masters + 3 replicas, as the local cluster runs:
#                   REDIS_WAIT_REPLICAS=1 (job adds and refresh tokens wait
#                   for a replica, docs/redis-cluster.md "Failover")
#   cluster-nowait  the same cluster with REDIS_WAIT_REPLICAS=0: the same
#                   durability promise as `single`, so the difference is the
#                   cluster layer itself (routing, per-node connections and
#                   the replicas' work on the same two cores)
# Environment: ROUNDS (2), DURATION (15s), JOBS (20000); see scripts/netns.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-2}
read -r -a modes <<<"${MODES:-single cluster cluster-nowait}"
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

run_mode() {  # mode delay
    case $1 in
        single) REDIS_MODE=single REDIS_WAIT_REPLICAS=0 "$ROOT/scripts/netns" bench "$2" ;;
        cluster) REDIS_MODE=cluster REDIS_WAIT_REPLICAS=1 "$ROOT/scripts/netns" bench "$2" ;;
        cluster-nowait) REDIS_MODE=cluster REDIS_WAIT_REPLICAS=0 "$ROOT/scripts/netns" bench "$2" ;;
        *) echo "unknown mode $1" >&2; exit 2 ;;
    esac
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) bench/cluster_bench.sh: $(nproc) cores, delays ${delays[*]} ms, $ROUNDS rounds, modes ${modes[*]}"
for delay in "${delays[@]}"; do
    for round in $(seq 1 "$ROUNDS"); do
        for mode in "${modes[@]}"; do
            echo "## delay $delay ms, round $round, $mode"
            run_mode "$mode" "$delay" 2>&1 | grep -E 'req/s|"impl"|^# ' | tee "$out/$delay-$round-$mode"
        done
        for mode in "${modes[@]}"; do
            [[ $mode == single ]] && continue
            echo "## delay $delay ms, round $round: $mode / single"
            join <(figures "$out/$delay-$round-single" | sort) <(figures "$out/$delay-$round-$mode" | sort) |
                awk -v m="$mode" '$1 ~ /-p99$/ { printf "  %-26s single %-9s %s %s\n", $1, $2, m, $3; next }
                     { printf "  %-26s single %10.0f  %s %10.0f  ratio %.2f\n", $1, $2, m, $3, $3 / $2 }'
        done
    done
done

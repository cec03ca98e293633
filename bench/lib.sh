# Shared by the bench scripts: run wrk, keep req/s and p99 per label.
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-15s}
declare -gA RPS P99

# wrk_run LABEL URL [DURATION] [extra wrk args...] — prints one summary line.
wrk_run() {
    local label=$1 url=$2 dur=${3:-$DURATION}
    shift 3 2>/dev/null || shift $#
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$dur" --latency "$@" "$url")
    local rps p99 errors
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" | tr -s ' ' | paste -sd ';' || true)
    RPS[$label]=$rps
    P99[$label]=$p99
    printf '%-28s %10s req/s   p99 %-9s %s\n' "$label" "$rps" "$p99" "${errors:-no errors}"
}

# ratio REFERENCE LABEL — LABEL's req/s as a percentage of REFERENCE's.
ratio() {
    awk -v a="${RPS[$2]}" -v b="${RPS[$1]}" -v l="$2" -v r="$1" \
        'BEGIN { printf "%-28s %.1f %% of %s\n", l, 100 * a / b, r }'
}

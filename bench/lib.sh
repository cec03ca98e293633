# Shared by the bench scripts: where the stack is, how to restart its fcgi
# processes, the 10,000 bench books, and wrk runs with req/s and p99 per label.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${HTTP_PORT:-8080}
BASE="http://127.0.0.1:$PORT"
PSQL=(psql -h 127.0.0.1 -p "${PG_PORT:-15432}" -U "${PG_USER:-postgres}" -d "${PG_DB:-bazaar}" -tAq)
RCLI=(redis-cli -p "${REDIS_PORT:-16379}")
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

require_stack() {
    curl -sf "$BASE/api/v1/ping" >/dev/null || { echo "stack not running on :$PORT" >&2; exit 1; }
}

# seed_books — makes sure the 10,000 bench books exist; exports their ids
# as BOOK_ID_MIN..BOOK_ID_MAX (for lua/random_book.lua).
seed_books() {
    local first
    first=$("${PSQL[@]}" -f "$ROOT/bench/seed_books.sql" | tail -1)
    export BOOK_ID_MIN=$first BOOK_ID_MAX=$((first + 9999))
}

# restart_fcgi [VAR=value...] — the stack's fcgi processes again, with extra
# environment; waits until they answer.
restart_fcgi() {
    env "$@" "$ROOT/scripts/stack" svc restart fcgi >/dev/null 2>&1
    for _ in $(seq 1 50); do curl -sf "$BASE/api/v1/ping" >/dev/null && return 0; sleep 0.1; done
    echo "fcgi did not come back" >&2
    exit 1
}

# Postgres transactions committed so far (per-request figures: a difference).
xacts() { "${PSQL[@]}" -c "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"; }

#include "bazaar/config.hpp"

#include "bazaar/payments/webhook_signature.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "bazaar/mail/mime.hpp"
#include "bazaar/redis_cluster_map.hpp"
#include "bazaar/text/strings.hpp"

namespace bazaar {

namespace {
// The placeholder .env.example shows: long enough to parse, refused by
// every process (require_private_jwt_secret), so the documented value can
// never sign a token. scripts/stack generates the real one.
constexpr const char* kJwtSecretPlaceholder =
    "replace-me-scripts-stack-generates-a-random-secret-per-installation";
// What .env.example shipped before: public in the history, so refused too.
constexpr const char* kOldDevJwtSecret = "dev-only-jwt-secret-never-use-in-production-0123456789";
constexpr std::size_t kMinJwtSecretBytes = 32;
}  // namespace

const std::vector<ConfigVar>& config_vars() {
    static const std::vector<ConfigVar> vars = {
        {"APP_ENV", "development", "development | test | production"},
        {"LOG_LEVEL", "info", "debug | info | warn | error"},
        {"BAZAAR_VAR_DIR", "var", "runtime data: databases, sockets, logs, media, mail"},
        {"BAZAAR_LUA_DIR", "lua", "folder of the Redis scripts, loaded by file name"},
        {"BAZAAR_MIGRATIONS_DIR", "migrations", "folder of the SQL migrations"},
        {"HTTP_PORT", "8080", "port nginx listens on (loopback)"},
        {"PG_HOST", "127.0.0.1", "Postgres host"},
        {"PG_PORT", "15432", "Postgres port"},
        {"PG_DB", "bazaar", "Postgres database"},
        {"PG_USER", "postgres", "Postgres user"},
        {"PG_PASSWORD", "", "Postgres password (empty: trust auth on loopback)"},
        {"PG_TIMEOUT_MS", "1500", "Postgres connect and statement timeout"},
        {"REDIS_HOST", "127.0.0.1", "Redis host"},
        {"REDIS_PORT", "16379", "Redis port"},
        {"REDIS_TIMEOUT_MS", "500", "Redis connect and command timeout"},
        {"REDIS_SOCKET", "",
         "Redis unix socket path (set: bazaar-fcgi uses it instead of REDIS_HOST:REDIS_PORT)"},
        {"REDIS_CLUSTER", "",
         "Redis Cluster seed nodes host:port,host:port (set: cluster mode; REDIS_HOST, "
         "REDIS_PORT and REDIS_SOCKET are unused)"},
        {"REDIS_WAIT_REPLICAS", "0",
         "replicas that must have a must-survive write (job add, session revocation) before it "
         "is acknowledged: WAIT (0: off; docs/redis-cluster.md, \"Failover\")"},
        {"REDIS_WAIT_TIMEOUT_MS", "50",
         "how long such a write waits for them; past it the write is acknowledged anyway, "
         "logged and counted"},
        {"FCGI_PROCESSES", "2", "number of bazaar-fcgi processes scripts/stack starts"},
        {"FCGI_THREADS", "16",
         "worker-pool threads per bazaar-fcgi process (Postgres routes, logins, uploads)"},
        {"FCGI_LOOPS", "0", "event-loop threads per bazaar-fcgi process (0: one per core)"},
        {"FCGI_IO_TIMEOUT_MS", "30000",
         "bazaar-fcgi read/write deadline on a nginx connection (bodies read by the pool)"},
        {"FCGI_SOCKET", "var/run/fcgi-0.sock", "unix socket of one bazaar-fcgi process"},
        {"JSON_BODY_LIMIT", "1048576", "largest JSON request body in bytes (413 above)"},
        {"ACCESS_LOG", "errors",
         "bazaar-fcgi request lines: all | errors (5xx and slow ones; nginx logs every request)"},
        {"SLOW_REQUEST_MS", "1000",
         "a request slower than this is logged even with ACCESS_LOG=errors"},
        {"WS_PORT", "8090", "port bazaar-ws listens on (behind nginx)"},
        {"WS_LISTEN_ADDRESS", "127.0.0.1",
         "IP address bazaar-ws listens on: loopback when nginx is on the same host, the "
         "host's own address (or 0.0.0.0) when nginx reaches it over the network"},
        {"WS_PROCESSES", "2",
         "number of bazaar-ws processes scripts/stack starts, on WS_PORT, WS_PORT+1, ..."},
        {"WS_ALLOWED_ORIGINS", "",
         "comma-separated browser origins allowed to open /ws (others get 403); empty: the "
         "stack's own (http://127.0.0.1:HTTP_PORT, http://localhost:HTTP_PORT, PUBLIC_BASE_URL); "
         "* allows any"},
        {"WS_MAX_MESSAGE_BYTES", "65536",
         "largest WebSocket message a client may send; a larger one closes the socket with 1009"},
        {"WS_SEND_QUEUE_MESSAGES", "1000",
         "frames waiting for one socket; beyond this the slow reader is closed with 1013"},
        {"WS_SEND_QUEUE_BYTES", "1048576",
         "bytes waiting for one socket; beyond this the slow reader is closed with 1013"},
        {"WS_MAX_SOCKETS_PER_USER", "16",
         "open sockets one user may hold per bazaar-ws process; beyond it the handshake is 429"},
        {"WORKER_THREADS", "4", "job threads per queue in each bazaar-worker process"},
        {"WORKER_QUEUES", "",
         "comma-separated queues this worker serves (empty: every registered one)"},
        {"WORKER_QUEUE_CONCURRENCY", "",
         "per-queue job threads, e.g. email=2,images=1 (overrides)"},
        {"WORKER_SHUTDOWN_GRACE_MS", "10000",
         "on SIGTERM, how long running jobs may finish before they are released"},
        {"WORKER_OUTBOX_RELAY", "1", "1: this worker relays queued jobs from the Postgres outbox"},
        {"QUEUE_LEASE_MS", "30000",
         "lease of a running job; renewed every third of it, taken back when it runs out"},
        {"QUEUE_MAX_STALLS", "2", "times a job may lose its worker before it fails for good"},
        {"QUEUE_JOB_TIMEOUT_MS", "300000", "default run time limit of a job (timeoutMs overrides)"},
        {"QUEUE_MAX_BACKOFF_MS", "3600000",
         "longest delay before a retry, whatever the backoff computes"},
        {"OUTBOX_MAX_ATTEMPTS", "5",
         "times the relay tries an outbox job the queue refuses before setting it aside"},
        {"OUTBOX_RETRY_MAX_MS", "30000",
         "longest pause between the relay's tries while the queue's Redis refuses writes (an "
         "outage: rows wait, never set aside)"},
        {"RESERVATION_TTL_S", "900",
         "seconds an unpaid order holds its stock before it expires (expiresAt)"},
        {"IDEMPOTENCY_LEASE_MS", "30000",
         "how long a running checkout holds its Idempotency-Key and its stock hold; a killed "
         "process's key and stock are free again after it"},
        {"ORDER_SWEEP_INTERVAL_MS", "5000",
         "bazaar-worker: how often overdue orders are expired and dead checkout holds swept"},
        {"CART_MAX_LINES", "100",
         "distinct books one cart may hold (a new one beyond: 409 CONFLICT naming items)"},
        {"ORDER_MAX_OPEN_PER_USER", "3", "unpaid orders one user may hold at once"},
        {"ORDER_MAX_UNITS_PER_USER", "30", "units one user's unpaid orders may hold in all"},
        {"ORDER_MAX_UNITS_PER_BOOK", "10", "units of one book one user's unpaid orders may hold"},
        {"IMAGE_MAX_PIXELS", "40000000",
         "largest accepted image upload in pixels, checked from the header (400 above)"},
        {"IMAGE_PIXEL_BUDGET", "80000000",
         "pixels the image jobs of one worker process may decode at once (bounds memory)"},
        {"IMAGE_VIPS_CONCURRENCY", "1",
         "libvips threads per image operation (parallelism comes from image jobs)"},
        {"IMAGE_MAX_SIDE_PX", "12000", "longest image side accepted, in pixels (400 above)"},
        {"IMAGE_MAX_ASPECT_RATIO", "20", "long side / short side accepted, at most (400 above)"},
        {"IMAGE_JOB_TIMEOUT_MS", "60000", "one image's processing is cancelled after this long"},
        {"SEED_ADMIN_PASSWORD", "admin-password-1", "password of admin@example.com (bazaar seed)"},
        {"SEED_USER_PASSWORD", "user-password-1", "password of user1..5@example.com (bazaar seed)"},
        {"JWT_SECRET", kJwtSecretPlaceholder,
         "HS256 key of access tokens, at least 32 bytes; the placeholder is refused: "
         "scripts/stack generates one into $BAZAAR_VAR_DIR/secrets/jwt_secret"},
        {"JWT_TTL_S", "900", "lifetime of an access token in seconds"},
        {"REFRESH_TTL_S", "604800", "lifetime of a refresh token in seconds (7 days)"},
        {"REFRESH_REUSE_WINDOW_S", "10",
         "a spent refresh token presented again within this many seconds (a retry after a "
         "lost response) gets the same new pair instead of revoking the family; 0: never"},
        {"LOGIN_CONCURRENCY", "1",
         "argon2id hashes/verifications running at once per fcgi process (64 MiB, ~0.1 s each)"},
        {"LOGIN_QUEUE", "4",
         "requests allowed to wait for a hashing slot per fcgi process; "
         "beyond it auth answers 503 at once so logins never hold every thread"},
        {"LOGIN_WAIT_MS", "2000", "longest wait for a hashing slot before 503"},
        {"RATE_LIMIT_AUTH_LIMIT", "10", "requests per window per client IP on /api/v1/auth/*"},
        {"RATE_LIMIT_AUTH_WINDOW_S", "60", "window of the auth rate limit in seconds"},
        {"RATE_LIMIT_API_LIMIT", "600", "requests per window per user (IP when anonymous)"},
        {"RATE_LIMIT_API_WINDOW_S", "60", "window of the API rate limit in seconds"},
        {"RATE_LIMIT_EXEMPT_IPS", "",
         "comma-separated client addresses never rate limited (health checkers, test runners)"},
        {"CACHE_ENABLED", "1",
         "1: public GETs are served from the Redis read cache; 0: always Postgres"},
        {"CACHE_TTL_BOOKS_S", "300", "TTL of cached book details, lists and recommendations"},
        {"CACHE_TTL_TAGS_S", "600", "TTL of the cached tag list"},
        {"CACHE_TTL_PROFILE_S", "600", "TTL of a cached profile"},
        {"CACHE_REBUILD_WAIT_MS", "1000",
         "how long a read waits for another request rebuilding the same cold key"},
        {"NEAR_CACHE", "on",
         "on: cached bodies are also kept in each fcgi process, kept coherent by Redis "
         "client-side caching (docs/catalog-auth-cache.md, near cache); off: every cached read "
         "asks Redis"},
        {"NEAR_CACHE_ENTRIES", "20000", "most bodies the near cache holds per process"},
        {"NEAR_CACHE_BYTES", "67108864", "most bytes the near cache holds per process"},
        {"NEAR_CACHE_PING_MS", "100",
         "how often the invalidation connection proves it is alive and caught up"},
        {"NEAR_CACHE_MAX_LAG_MS", "250",
         "a PING unanswered this long makes the near cache flush and step aside"},
        {"PASSWORD_RESET_TTL_S", "3600", "lifetime of a password-reset token"},
        {"PUBLIC_BASE_URL", "http://127.0.0.1:8080", "origin used in links inside emails"},
        {"MAIL_FROM", "Book Bazar <no-reply@bookbazar.local>", "sender of outgoing email"},
        {"SMTP_URL", "",
         "where email goes: smtp://host:port (plain only to loopback; STARTTLS required "
         "elsewhere) or smtps://user:pass@host:465; empty: the local sink on SMTP_PORT"},
        {"SMTP_PORT", "8025",
         "port of the local SMTP sink scripts/stack starts (stores mail in var/mail/)"},
        {"SMTP_TIMEOUT_MS", "30000",
         "bound of one SMTP session (connect: at most 10 s); past it the job is retried"},
        {"PAYMENT_PROVIDER", "test",
         "test (offline; enables POST /payments/test/complete) | stripe (needs STRIPE_SECRET_KEY)"},
        {"STRIPE_SECRET_KEY", "",
         "Stripe API key (sk_live_... / sk_test_...) of PAYMENT_PROVIDER=stripe"},
        {"STRIPE_API_BASE", "https://api.stripe.com",
         "base URL of the Stripe API (tests: a local stand-in)"},
        {"STRIPE_API_VERSION", "2024-06-20", "Stripe-Version header sent with every API call"},
        {"STRIPE_CA_FILE", "",
         "PEM file of CAs trusted for STRIPE_API_BASE (tests only; empty: the system store)"},
        {"STRIPE_TIMEOUT_MS", "10000", "whole-call time limit of one Stripe API request"},
        {"WEBHOOK_SECRET", "",
         "webhook signing secret(s), comma-separated while rotating (new,old: either verifies); "
         "scripts/stack generates one into $BAZAAR_VAR_DIR/secrets/webhook_secret"},
        {"WEBHOOK_TOLERANCE_S", "300", "largest |now - t| of a Stripe-Signature timestamp"},
    };
    return vars;
}

std::map<std::string, std::string> parse_env_file(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        line = line.substr(first);
        if (line.rfind("export ", 0) == 0) line = line.substr(7);
        auto eq = line.find('=');
        if (eq == std::string::npos) continue;
        std::string key = line.substr(0, eq);
        while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
        std::string value = line.substr(eq + 1);
        while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
        if (value.size() >= 2 && ((value.front() == '"' && value.back() == '"') ||
                                  (value.front() == '\'' && value.back() == '\''))) {
            value = value.substr(1, value.size() - 2);
        }
        out[key] = value;
    }
    return out;
}

namespace {

class Reader {
  public:
    explicit Reader(const std::map<std::string, std::string>& values) : values_(values) {}

    std::string str(const char* name) const {
        auto it = values_.find(name);
        if (it != values_.end()) return it->second;
        for (const auto& v : config_vars())
            if (std::string(v.name) == name) return v.default_value;
        throw ConfigError(std::string(name) + ": not a declared configuration variable");
    }

    long integer(const char* name, long lo, long hi) const {
        std::string s = str(name);
        long v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
            throw ConfigError(std::string(name) + ": expected an integer between " +
                              std::to_string(lo) + " and " + std::to_string(hi) + ", got '" + s +
                              "'");
        }
        return v;
    }

    std::string one_of(const char* name, std::initializer_list<const char*> allowed) const {
        std::string s = str(name);
        std::string list;
        for (const char* a : allowed) {
            if (s == a) return s;
            list += list.empty() ? a : std::string(", ") + a;
        }
        throw ConfigError(std::string(name) + ": expected one of " + list + ", got '" + s + "'");
    }

  private:
    const std::map<std::string, std::string>& values_;
};

using text::split_list;  // "a, b,,c" -> {"a", "b", "c"}

// lws takes an interface name or an address here; only an address, so that
// a typo fails at start-up instead of binding somewhere unexpected.
bool is_ip_literal(const std::string& s) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// "HTTP://Host:8080/path/" -> "http://host:8080" (the form browsers send in
// Origin: scheme, host and port, lower case, no path).
std::string origin_of(std::string url) {
    for (char& ch : url) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto scheme = url.find("://");
    auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    if (path != std::string::npos) url.erase(path);
    return url;
}

// WS_ALLOWED_ORIGINS: explicit list, "*", or (empty) the stack's own origins.
std::vector<std::string> ws_origins(const std::string& value, int http_port,
                                    const std::string& public_base_url) {
    std::vector<std::string> out;
    for (const auto& item : split_list(value)) {
        if (item != "*" && item.find("://") == std::string::npos)
            throw ConfigError(
                "WS_ALLOWED_ORIGINS: expected origins like https://shop.example, got '" + item +
                "'");
        out.push_back(item == "*" ? item : origin_of(item));
    }
    if (out.empty()) {
        out.push_back("http://127.0.0.1:" + std::to_string(http_port));
        out.push_back("http://localhost:" + std::to_string(http_port));
        if (!public_base_url.empty()) out.push_back(origin_of(public_base_url));
    }
    return out;
}

std::string quote_conninfo(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

}  // namespace

Config Config::from_map(const std::map<std::string, std::string>& values) {
    Reader r(values);
    Config c;
    c.app_env = r.one_of("APP_ENV", {"development", "test", "production"});
    c.log_level = r.one_of("LOG_LEVEL", {"debug", "info", "warn", "error"});
    c.var_dir = r.str("BAZAAR_VAR_DIR");
    c.lua_dir = r.str("BAZAAR_LUA_DIR");
    c.migrations_dir = r.str("BAZAAR_MIGRATIONS_DIR");
    c.http_port = static_cast<int>(r.integer("HTTP_PORT", 1, 65535));
    c.pg_host = r.str("PG_HOST");
    c.pg_port = static_cast<int>(r.integer("PG_PORT", 1, 65535));
    c.pg_db = r.str("PG_DB");
    c.pg_user = r.str("PG_USER");
    c.pg_password = r.str("PG_PASSWORD");
    c.pg_timeout_ms = static_cast<int>(r.integer("PG_TIMEOUT_MS", 100, 600000));
    c.redis_host = r.str("REDIS_HOST");
    c.redis_port = static_cast<int>(r.integer("REDIS_PORT", 1, 65535));
    c.redis_timeout_ms = static_cast<int>(r.integer("REDIS_TIMEOUT_MS", 10, 60000));
    c.redis_socket = r.str("REDIS_SOCKET");
    c.redis_cluster = split_list(r.str("REDIS_CLUSTER"));
    for (const auto& seed : c.redis_cluster) {
        try {
            parse_node_address(seed);
        } catch (const std::invalid_argument& e) {
            throw ConfigError(std::string("REDIS_CLUSTER: ") + e.what());
        }
    }
    c.redis_wait_replicas = static_cast<int>(r.integer("REDIS_WAIT_REPLICAS", 0, 16));
    c.redis_wait_timeout_ms = static_cast<int>(r.integer("REDIS_WAIT_TIMEOUT_MS", 1, 10000));
    r.integer("FCGI_PROCESSES", 1, 256);  // read by scripts/stack; validated here too
    c.fcgi_threads = static_cast<int>(r.integer("FCGI_THREADS", 1, 1024));
    c.fcgi_loops = static_cast<int>(r.integer("FCGI_LOOPS", 0, 256));
    c.fcgi_io_timeout_ms = static_cast<int>(r.integer("FCGI_IO_TIMEOUT_MS", 100, 3600000));
    c.fcgi_socket = r.str("FCGI_SOCKET");
    c.json_body_limit =
        static_cast<std::size_t>(r.integer("JSON_BODY_LIMIT", 1024, 64L * 1024 * 1024));
    c.access_log_all = r.one_of("ACCESS_LOG", {"all", "errors"}) == "all";
    c.slow_request_ms = static_cast<int>(r.integer("SLOW_REQUEST_MS", 1, 3600000));
    c.ws_port = static_cast<int>(r.integer("WS_PORT", 1, 65535));
    c.ws_listen_address = r.str("WS_LISTEN_ADDRESS");
    if (!is_ip_literal(c.ws_listen_address))
        throw ConfigError("WS_LISTEN_ADDRESS: expected an IPv4 or IPv6 address, got '" +
                          c.ws_listen_address + "'");
    r.integer("WS_PROCESSES", 1, 64);  // read by scripts/stack; validated here too
    c.ws_max_message_bytes =
        static_cast<std::size_t>(r.integer("WS_MAX_MESSAGE_BYTES", 128, 16L * 1024 * 1024));
    c.ws_send_queue_messages =
        static_cast<std::size_t>(r.integer("WS_SEND_QUEUE_MESSAGES", 1, 1000000));
    c.ws_send_queue_bytes =
        static_cast<std::size_t>(r.integer("WS_SEND_QUEUE_BYTES", 1024, 1024L * 1024 * 1024));
    c.ws_max_sockets_per_user = static_cast<int>(r.integer("WS_MAX_SOCKETS_PER_USER", 1, 100000));
    c.worker_threads = static_cast<int>(r.integer("WORKER_THREADS", 1, 256));
    c.worker_queues = split_list(r.str("WORKER_QUEUES"));
    for (const auto& item : split_list(r.str("WORKER_QUEUE_CONCURRENCY"))) {
        auto eq = item.find('=');
        int n = 0;
        if (eq != std::string::npos) {
            auto [p, ec] = std::from_chars(item.data() + eq + 1, item.data() + item.size(), n);
            if (ec != std::errc() || p != item.data() + item.size()) n = 0;
        }
        if (eq == std::string::npos || eq == 0 || n < 1 || n > 256)
            throw ConfigError(
                "WORKER_QUEUE_CONCURRENCY: expected queue=threads pairs (1..256), got '" + item +
                "'");
        c.worker_queue_concurrency[item.substr(0, eq)] = n;
    }
    c.worker_shutdown_grace_ms =
        static_cast<int>(r.integer("WORKER_SHUTDOWN_GRACE_MS", 0, 3600000));
    c.worker_outbox_relay = r.integer("WORKER_OUTBOX_RELAY", 0, 1) == 1;
    c.queue_lease_ms = static_cast<int>(r.integer("QUEUE_LEASE_MS", 1000, 3600000));
    c.queue_max_stalls = static_cast<int>(r.integer("QUEUE_MAX_STALLS", 0, 1000));
    c.queue_job_timeout_ms = static_cast<int>(r.integer("QUEUE_JOB_TIMEOUT_MS", 100, 86400000));
    c.queue_max_backoff_ms = r.integer("QUEUE_MAX_BACKOFF_MS", 1, 366LL * 24 * 3600 * 1000);
    c.outbox_max_attempts = static_cast<int>(r.integer("OUTBOX_MAX_ATTEMPTS", 1, 1000));
    c.outbox_retry_max_ms = static_cast<int>(r.integer("OUTBOX_RETRY_MAX_MS", 100, 3600000));
    c.reservation_ttl_s = static_cast<int>(r.integer("RESERVATION_TTL_S", 1, 7 * 86400));
    c.idempotency_lease_ms = static_cast<int>(r.integer("IDEMPOTENCY_LEASE_MS", 1000, 3600000));
    c.order_sweep_interval_ms =
        static_cast<int>(r.integer("ORDER_SWEEP_INTERVAL_MS", 100, 3600000));
    c.cart_max_lines = static_cast<int>(r.integer("CART_MAX_LINES", 1, 10000));
    c.order_max_open_per_user = static_cast<int>(r.integer("ORDER_MAX_OPEN_PER_USER", 1, 10000));
    c.order_max_units_per_user =
        static_cast<int>(r.integer("ORDER_MAX_UNITS_PER_USER", 1, 1000000));
    c.order_max_units_per_book =
        static_cast<int>(r.integer("ORDER_MAX_UNITS_PER_BOOK", 1, 1000000));
    c.image_max_pixels = r.integer("IMAGE_MAX_PIXELS", 1, 1000000000);
    c.image_pixel_budget = r.integer("IMAGE_PIXEL_BUDGET", 1, 100000000000);
    c.image_vips_concurrency = static_cast<int>(r.integer("IMAGE_VIPS_CONCURRENCY", 1, 64));
    c.image_max_side_px = static_cast<int>(r.integer("IMAGE_MAX_SIDE_PX", 16, 100000));
    c.image_max_aspect_ratio = static_cast<int>(r.integer("IMAGE_MAX_ASPECT_RATIO", 1, 1000));
    c.image_job_timeout_ms = static_cast<int>(r.integer("IMAGE_JOB_TIMEOUT_MS", 100, 3600000));
    c.seed_admin_password = r.str("SEED_ADMIN_PASSWORD");
    c.seed_user_password = r.str("SEED_USER_PASSWORD");
    c.jwt_secret = r.str("JWT_SECRET");
    if (c.jwt_secret.size() < kMinJwtSecretBytes)
        throw ConfigError("JWT_SECRET: must be at least 32 bytes, got " +
                          std::to_string(c.jwt_secret.size()));
    if (c.app_env == "production") require_private_jwt_secret(c);
    c.jwt_ttl_s = static_cast<int>(r.integer("JWT_TTL_S", 10, 86400));
    c.refresh_ttl_s = static_cast<int>(r.integer("REFRESH_TTL_S", 60, 90L * 86400));
    c.refresh_reuse_window_s = static_cast<int>(r.integer("REFRESH_REUSE_WINDOW_S", 0, 300));
    c.login_concurrency = static_cast<int>(r.integer("LOGIN_CONCURRENCY", 1, 64));
    c.login_queue = static_cast<int>(r.integer("LOGIN_QUEUE", 0, 1024));
    c.login_wait_ms = static_cast<int>(r.integer("LOGIN_WAIT_MS", 0, 60000));
    c.rate_limit_auth = {static_cast<int>(r.integer("RATE_LIMIT_AUTH_LIMIT", 1, 1000000000)),
                         static_cast<int>(r.integer("RATE_LIMIT_AUTH_WINDOW_S", 1, 86400))};
    c.rate_limit_api = {static_cast<int>(r.integer("RATE_LIMIT_API_LIMIT", 1, 1000000000)),
                        static_cast<int>(r.integer("RATE_LIMIT_API_WINDOW_S", 1, 86400))};
    c.rate_limit_exempt_ips = split_list(r.str("RATE_LIMIT_EXEMPT_IPS"));
    c.cache_enabled = r.integer("CACHE_ENABLED", 0, 1) == 1;
    c.cache_ttl_books_s = static_cast<int>(r.integer("CACHE_TTL_BOOKS_S", 1, 86400));
    c.cache_ttl_tags_s = static_cast<int>(r.integer("CACHE_TTL_TAGS_S", 1, 86400));
    c.cache_ttl_profile_s = static_cast<int>(r.integer("CACHE_TTL_PROFILE_S", 1, 86400));
    c.cache_rebuild_wait_ms = static_cast<int>(r.integer("CACHE_REBUILD_WAIT_MS", 0, 30000));
    c.near_cache = r.one_of("NEAR_CACHE", {"on", "off"}) == "on";
    c.near_cache_entries = r.integer("NEAR_CACHE_ENTRIES", 16, 10000000);
    c.near_cache_bytes = r.integer("NEAR_CACHE_BYTES", 65536, 1L << 40);
    c.near_cache_ping_ms = static_cast<int>(r.integer("NEAR_CACHE_PING_MS", 10, 10000));
    c.near_cache_max_lag_ms = static_cast<int>(r.integer("NEAR_CACHE_MAX_LAG_MS", 10, 60000));
    c.password_reset_ttl_s = static_cast<int>(r.integer("PASSWORD_RESET_TTL_S", 60, 86400));
    c.public_base_url = r.str("PUBLIC_BASE_URL");
    c.mail_from = r.str("MAIL_FROM");
    try {
        mail::mime::parse_mailbox(c.mail_from);
    } catch (const std::invalid_argument& e) {
        throw ConfigError(std::string("MAIL_FROM: ") + e.what());
    }
    c.smtp_port = static_cast<int>(r.integer("SMTP_PORT", 1, 65535));
    c.smtp_url = r.str("SMTP_URL");
    if (c.smtp_url.empty()) c.smtp_url = "smtp://127.0.0.1:" + std::to_string(c.smtp_port);
    if (c.smtp_url.rfind("smtp://", 0) != 0 && c.smtp_url.rfind("smtps://", 0) != 0)
        throw ConfigError("SMTP_URL: must start with smtp:// or smtps://");
    c.smtp_timeout_ms = static_cast<int>(r.integer("SMTP_TIMEOUT_MS", 100, 600000));
    c.payment_provider = r.str("PAYMENT_PROVIDER");
    if (c.payment_provider != "test" && c.payment_provider != "stripe")
        throw ConfigError("PAYMENT_PROVIDER: expected test or stripe, got '" + c.payment_provider +
                          "'");
    c.stripe_secret_key = r.str("STRIPE_SECRET_KEY");
    if (c.payment_provider == "stripe" && c.stripe_secret_key.empty())
        throw ConfigError("STRIPE_SECRET_KEY: required when PAYMENT_PROVIDER=stripe");
    c.stripe_api_base = r.str("STRIPE_API_BASE");
    while (!c.stripe_api_base.empty() && c.stripe_api_base.back() == '/')
        c.stripe_api_base.pop_back();
    if (c.stripe_api_base.rfind("https://", 0) != 0)
        throw ConfigError("STRIPE_API_BASE: must be an https:// URL");
    c.stripe_api_version = r.str("STRIPE_API_VERSION");
    c.stripe_ca_file = r.str("STRIPE_CA_FILE");
    c.stripe_timeout_ms = static_cast<int>(r.integer("STRIPE_TIMEOUT_MS", 100, 120000));
    c.webhook_secrets = payments::parse_secret_list(r.str("WEBHOOK_SECRET"));
    if (c.payment_provider == "stripe" && c.webhook_secrets.empty())
        throw ConfigError("WEBHOOK_SECRET: required when PAYMENT_PROVIDER=stripe");
    c.webhook_tolerance_s = static_cast<int>(r.integer("WEBHOOK_TOLERANCE_S", 1, 3600));
    c.ws_allowed_origins = ws_origins(r.str("WS_ALLOWED_ORIGINS"), c.http_port, c.public_base_url);
    return c;
}

Config Config::load(const std::string& env_file) {
    std::map<std::string, std::string> values;
    if (std::ifstream f(env_file); f) {
        std::stringstream ss;
        ss << f.rdbuf();
        values = parse_env_file(ss.str());
    }
    for (const auto& v : config_vars()) {
        if (const char* e = std::getenv(v.name)) values[v.name] = e;
    }
    Config c = from_map(values);
    require_private_jwt_secret(c);
    return c;
}

bool is_published_jwt_secret(const std::string& secret) {
    return secret == kJwtSecretPlaceholder || secret == kOldDevJwtSecret;
}

void require_private_jwt_secret(const Config& c) {
    if (is_published_jwt_secret(c.jwt_secret))
        throw ConfigError(
            "JWT_SECRET: the value published in .env.example would let anyone sign tokens; "
            "set a private one (scripts/stack generates $BAZAAR_VAR_DIR/secrets/jwt_secret)");
}

std::string Config::pg_conninfo() const {
    int connect_s = (pg_timeout_ms + 999) / 1000;
    if (connect_s < 1) connect_s = 1;
    std::string s = "host=" + quote_conninfo(pg_host) + " port=" + std::to_string(pg_port) +
                    " dbname=" + quote_conninfo(pg_db) + " user=" + quote_conninfo(pg_user) +
                    " connect_timeout=" + std::to_string(connect_s) +
                    " keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=2" +
                    " options='-c statement_timeout=" + std::to_string(pg_timeout_ms * 4) + "'";
    if (!pg_password.empty()) s += " password=" + quote_conninfo(pg_password);
    return s;
}

}  // namespace bazaar

// Configuration, read once at start-up from the environment, with `.env`
// (development) underneath it: a variable set in the environment wins over
// the file. Every variable is declared in config.cpp's table with its default
// and a one-line description; `.env.example` lists the same table and a unit
// test keeps the two in step. A bad value stops start-up with a ConfigError
// whose one-line message names the variable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace bazaar {

class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ConfigVar {
    const char* name;
    const char* default_value;
    const char* description;
};

// The declared variables, in the order `.env.example` lists them.
const std::vector<ConfigVar>& config_vars();

struct Config {
    std::string app_env;  // development | test | production
    std::string log_level;
    std::string var_dir;
    std::string lua_dir;
    std::string migrations_dir;

    int http_port = 0;

    std::string pg_host;
    int pg_port = 0;
    std::string pg_db;
    std::string pg_user;
    std::string pg_password;
    int pg_timeout_ms = 0;  // connect and statement timeout

    std::string redis_host;
    std::string redis_socket;  // non-empty: a unix socket instead of host:port
    int redis_port = 0;
    int redis_timeout_ms = 0;
    // REDIS_CLUSTER: seed nodes "host:port"; non-empty = Redis Cluster mode.
    std::vector<std::string> redis_cluster;
    int redis_wait_replicas = 0;    // WAIT for this many replicas (replication.hpp); 0: off
    int redis_wait_timeout_ms = 0;  // ... at most this long

    std::string fcgi_socket;     // unix socket path of this bazaar-fcgi process
    int fcgi_threads = 0;        // worker-pool threads (server.hpp)
    int fcgi_loops = 0;          // event-loop threads; 0: one per core
    int fcgi_io_timeout_ms = 0;  // read/write deadline on a nginx connection
    std::size_t json_body_limit = 0;
    bool access_log_all = false;  // ACCESS_LOG=all
    int slow_request_ms = 0;

    // ---- bazaar-ws
    int ws_port = 0;
    std::string ws_listen_address;
    std::vector<std::string> ws_allowed_origins;  // lower-case origins, or {"*"}
    std::size_t ws_max_message_bytes = 0;
    std::size_t ws_send_queue_messages = 0;
    std::size_t ws_send_queue_bytes = 0;
    int ws_max_sockets_per_user = 0;  // open sockets one user may hold per bazaar-ws process

    int worker_threads = 0;  // per queue, unless worker_queue_concurrency says otherwise

    // ---- job queue (bazaar-worker)
    std::vector<std::string> worker_queues;  // empty: every registered queue
    std::map<std::string, int> worker_queue_concurrency;
    int worker_shutdown_grace_ms = 0;
    bool worker_outbox_relay = true;
    int queue_lease_ms = 0;
    int queue_max_stalls = 0;
    int queue_job_timeout_ms = 0;
    std::int64_t queue_max_backoff_ms = 0;
    int outbox_max_attempts = 0;
    int outbox_retry_max_ms = 0;  // backoff cap while the queue's Redis refuses (an outage)

    // ---- orders (issue 9)
    int reservation_ttl_s = 0;
    int idempotency_lease_ms = 0;
    int order_sweep_interval_ms = 0;
    // ---- per-user limits (anti-hoarding, bounded storage)
    int cart_max_lines = 0;
    int order_max_open_per_user = 0;   // unpaid (PAYMENT_PENDING) orders at once
    int order_max_units_per_user = 0;  // units held by them in all
    int order_max_units_per_book = 0;  // ... of any one book
    // ---- images (images/image_service.hpp)
    std::int64_t image_max_pixels = 0;
    std::int64_t image_pixel_budget = 0;
    int image_vips_concurrency = 1;
    int image_max_side_px = 0;       // longest side accepted, in pixels
    int image_max_aspect_ratio = 0;  // long side / short side, at most
    int image_job_timeout_ms = 0;    // one image's processing, at most

    std::string seed_admin_password;
    std::string seed_user_password;

    // ---- auth
    std::string jwt_secret;  // >= 32 bytes, checked at load
    int jwt_ttl_s = 0;
    int refresh_ttl_s = 0;
    int refresh_reuse_window_s = 0;  // a retried refresh within it gets the same new pair
    int login_concurrency = 0;       // argon2id calls at once, per process
    int login_queue = 0;             // waiters for a slot, per process
    int login_wait_ms = 0;

    // ---- rate limits: `limit` requests per `window_s` seconds
    struct RateLimit {
        int limit = 0;
        int window_s = 0;
    };
    RateLimit rate_limit_auth;  // per client IP on /api/v1/auth/*
    RateLimit rate_limit_api;   // per user, or per IP when anonymous
    std::vector<std::string> rate_limit_exempt_ips;

    // ---- read cache
    bool cache_enabled = true;
    int cache_ttl_books_s = 0;
    int cache_ttl_tags_s = 0;
    int cache_ttl_profile_s = 0;
    int cache_rebuild_wait_ms = 0;
    bool near_cache = true;  // docs/catalog-auth-cache.md, near cache
    long near_cache_entries = 0;
    long near_cache_bytes = 0;
    int near_cache_ping_ms = 0;
    int near_cache_max_lag_ms = 0;

    // ---- password reset and mail
    int password_reset_ttl_s = 0;
    std::string public_base_url;
    std::string mail_from;
    std::string smtp_url;  // SMTP_URL, or the local sink on SMTP_PORT when empty
    int smtp_port = 0;
    int smtp_timeout_ms = 0;

    // ---- payments (payments/provider.hpp, payments/webhook_signature.hpp)
    std::string payment_provider;  // test | stripe
    std::string stripe_secret_key;
    std::string stripe_api_base;  // no trailing slash
    std::string stripe_api_version;
    std::string stripe_ca_file;  // empty: the system's CA store
    int stripe_timeout_ms = 0;
    std::vector<std::string> webhook_secrets;  // WEBHOOK_SECRET split at commas
    int webhook_tolerance_s = 0;

    // Connection string for libpq, with timeouts that keep a dead server from
    // hanging a request thread forever.
    std::string pg_conninfo() const;

    // Loads `.env` from `env_file` (missing file is fine) and the process
    // environment. Throws ConfigError on the first bad value.
    // Also refuses a published JWT_SECRET (is_published_jwt_secret) in every
    // APP_ENV: every process reads its configuration through load().
    static Config load(const std::string& env_file = ".env");
    // Same, from explicit key/value pairs (tests).
    static Config from_map(const std::map<std::string, std::string>& values);
};

// Parses KEY=VALUE lines (comments, blank lines, optional quotes, `export `).
std::map<std::string, std::string> parse_env_file(const std::string& text);

// True for a JWT_SECRET that anyone can read: the placeholder of
// .env.example and the development default earlier versions shipped there.
// A token signed with it could be minted by anybody, so no process starts
// with it; scripts/stack generates a random secret per installation.
bool is_published_jwt_secret(const std::string& secret);
// Throws ConfigError (one line naming JWT_SECRET) for a published secret.
void require_private_jwt_secret(const Config& c);

}  // namespace bazaar

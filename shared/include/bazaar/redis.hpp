// A synchronous Redis connection (hiredis 0.14) owned by one thread.
//
// Every call has a timeout (REDIS_TIMEOUT_MS). When the connection breaks or
// times out, the context is dropped and the call throws
// Error(kUnavailable); the next call reconnects, but not more often than
// every kReconnectBackoff so that a dead Redis costs a request microseconds,
// not a connect timeout each. One exception: a call that finds its kept
// connection closed by the server (Redis restarted while the thread was
// idle) is run again at once on a fresh connection, so a restart does not
// cost every thread one failed request. Error replies that mean Redis cannot
// serve right now (LOADING after a restart, BUSY, MASTERDOWN, MISCONF,
// TRYAGAIN) are outages too: Error(kUnavailable), from pipelines as well.
// Other error replies (WRONGTYPE, a script's error_reply) throw RedisError,
// which callers may map themselves.
//
// Scripts: `eval_script("queue_add", keys, args)` runs lua/queue_add.lua by
// EVALSHA; its keys must share one cluster slot (std::logic_error
// otherwise). The sources are loaded once per process by `load_scripts()`
// and re-sent with SCRIPT LOAD when Redis answers NOSCRIPT (after a restart
// or a SCRIPT FLUSH).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace bazaar {

class RedisError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// An owned reply tree. Cheap to move.
class Reply {
  public:
    Reply() = default;
    explicit Reply(redisReply* r);

    bool is_nil() const;
    bool is_error() const;
    bool is_string() const;  // bulk or status
    bool is_integer() const;
    bool is_array() const;
    std::string_view str() const;   // bulk, status or error text
    std::int64_t integer() const;   // integer reply, or a bulk string holding one
    std::size_t size() const;       // array length
    Reply at(std::size_t i) const;  // a non-owning view of element i

  private:
    struct Free {
        void operator()(redisReply* r) const;
    };
    std::shared_ptr<redisReply> owner_;
    redisReply* r_ = nullptr;
};

// Arguments are binary-safe strings; integers convert with std::to_string.
class RedisArgs {
  public:
    RedisArgs() = default;
    RedisArgs(std::initializer_list<std::string_view> parts);
    RedisArgs& add(std::string_view s);
    RedisArgs& add(std::int64_t v);
    const std::vector<std::string>& parts() const { return parts_; }

  private:
    std::vector<std::string> parts_;
};

struct RedisOptions {
    std::string host = "127.0.0.1";
    int port = 6379;
    int timeout_ms = 500;
    std::string socket;  // non-empty: connect to this unix socket, not host:port
    // Non-empty: Redis Cluster mode; "host:port" seeds to ask for the slot
    // map (host, port and socket above are then unused).
    std::vector<std::string> cluster{};
};

struct Config;
// The connection settings of REDIS_HOST, REDIS_PORT, REDIS_TIMEOUT_MS and
// REDIS_SOCKET.
RedisOptions redis_options(const Config& config);

class Redis {
  public:
    static constexpr auto kReconnectBackoff = std::chrono::milliseconds(200);

    explicit Redis(RedisOptions opts);
    ~Redis();
    Redis(const Redis&) = delete;
    Redis& operator=(const Redis&) = delete;

    Reply command(const RedisArgs& args);
    // Sends all commands in one write and reads all replies (one round trip).
    std::vector<Reply> pipeline(const std::vector<RedisArgs>& commands);
    // EVALSHA of a script loaded by load_scripts(); see the header comment.
    Reply eval_script(std::string_view name, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args);

    // WAIT on the connection that holds `key`'s writes: how many replicas
    // acknowledged every write made so far on it, waiting up to
    // `timeout_ms` for `replicas` of them. For writes a client must not
    // see acknowledged and then lost to a failover (README "Failover").
    Reply wait_replicas(std::string_view key, int replicas, int timeout_ms);

    // For blocking commands (BZPOPMIN, XREAD BLOCK): the socket timeout is
    // raised by `extra_ms` for this call only.
    Reply blocking_command(const RedisArgs& args, int extra_ms);

    bool connected() const { return ctx_ != nullptr; }
    void disconnect();

  private:
    redisContext* ensure();
    [[noreturn]] void fail(const char* what);
    Reply read_one();
    void append(const RedisArgs& args);
    void set_timeout(int ms);
    // Runs `fn` (one exchange with the server); see retry_stale in redis.cpp.
    template <class F>
    auto retry_stale(F&& fn);

    RedisOptions opts_;
    redisContext* ctx_ = nullptr;
    bool closed_by_peer_ = false;  // the last failure was the server closing the socket
    std::chrono::steady_clock::time_point next_attempt_{};
};

// Throws what an error reply means: Error(kUnavailable) for the outage
// replies above, RedisError otherwise.
[[noreturn]] void throw_reply_error(const Reply& r);

// Reads every `*.lua` file of `dir`; a script's name is its file name without
// the extension. Call once at start-up, before threads start. Throws
// std::runtime_error when the folder cannot be read.
void load_scripts(const std::string& dir);
// The SHA1 of a loaded script (tests, admin).
std::string script_sha(std::string_view name);
// The EVALSHA command of a loaded script, to send with Redis::pipeline() in
// one round trip with other commands. A reply for which is_noscript() holds
// means Redis did not run it (its script cache was flushed): run it again
// with Redis::eval_script(), which reloads it.
RedisArgs script_command(std::string_view name, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args);
bool is_noscript(const Reply& r);

}  // namespace bazaar

// A synchronous Redis connection (hiredis) owned by one thread.
//
// Every call has a timeout (REDIS_TIMEOUT_MS). When the connection breaks or
// times out, the context is dropped and the call throws
// Error(kUnavailable); the next call reconnects, but not more often than
// every kReconnectBackoff so that a dead Redis costs a request microseconds,
// not a connect timeout each. A kept connection the server closed while it
// sat idle (Redis restarted) is noticed before anything is written on it and
// replaced, so a restart does not cost every thread one failed request; a
// command is sent a second time only when that is provably safe (nothing of
// it was written, or it is read-only: redis.cpp, retry_stale). Error replies
// that mean Redis cannot serve right now (OOM, READONLY, LOADING, BUSY,
// MASTERDOWN, MISCONF, NOREPLICAS, TRYAGAIN, CLUSTERDOWN, max clients
// reached; also when a script's redis.call() got one) are outages too:
// Error(kUnavailable), from pipelines as well. Other error replies
// (WRONGTYPE, a script's error_reply) throw RedisError, which callers may
// map themselves.
//
// Scripts: `eval_script("queue_add", keys, args)` runs lua/queue_add.lua by
// EVALSHA; its keys must share one cluster slot (std::logic_error
// otherwise). The sources are loaded once per process by `load_scripts()`
// and re-sent with SCRIPT LOAD when Redis answers NOSCRIPT (after a restart
// or a SCRIPT FLUSH).
//
// Cluster mode (RedisOptions::cluster non-empty, REDIS_CLUSTER): the same
// object routes every command, script and pipeline by the slot of its keys
// to the master owning it (redis_cluster.cpp, the one place that knows about
// slots; docs/redis-cluster.md "Redis Cluster client"). Keyless commands go to the node of
// this object's previous command (a PING after a write is a barrier on the
// written node; WAIT counts that node's replicas), or any master at first.
// MOVED refreshes the slot map and retries, ASK is followed with ASKING,
// and a connection error (or READONLY / CLUSTERDOWN) makes the next call ask
// for a fresh map, so a failover is survived without a new object.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
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
    // A constructor rather than an aggregate, so that the brace lists of
    // four values written before `cluster` existed still compile warning-free.
    RedisOptions(std::string host_ = "127.0.0.1", int port_ = 6379, int timeout_ms_ = 500,
                 std::string socket_ = "", std::vector<std::string> cluster_ = {})
        : host(std::move(host_)),
          port(port_),
          timeout_ms(timeout_ms_),
          socket(std::move(socket_)),
          cluster(std::move(cluster_)) {}

    std::string host = "127.0.0.1";
    int port = 6379;
    int timeout_ms = 500;
    std::string socket;  // non-empty: connect to this unix socket, not host:port
    // Non-empty: Redis Cluster mode; "host:port" seeds to ask for the slot
    // map (host, port and socket above are then unused).
    std::vector<std::string> cluster;
};

struct Config;
// The connection settings of REDIS_HOST, REDIS_PORT, REDIS_TIMEOUT_MS,
// REDIS_SOCKET and REDIS_CLUSTER.
RedisOptions redis_options(const Config& config);

// One connection to one Redis server: connect with a timeout, reconnect
// backoff, the stale-connection retry (see redis.cpp). Used by Redis for the
// single server and, one per node, by the cluster router.
class RedisConnection {
  public:
    static constexpr auto kReconnectBackoff = std::chrono::milliseconds(200);

    RedisConnection(std::string host, int port, std::string socket, int timeout_ms);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    // One command; error replies are thrown (throw_reply_error).
    Reply command(const RedisArgs& args);
    // One command; error replies are returned, not thrown.
    Reply exchange(const RedisArgs& args);
    std::vector<Reply> pipeline(const std::vector<RedisArgs>& commands);
    Reply blocking_command(const RedisArgs& args, int extra_ms);

    // The steps, for callers that interleave several connections: ensure()
    // connects (Error(kUnavailable) when it cannot; a kept connection the
    // server closed meanwhile is replaced first), append() buffers a
    // command, flush() writes the buffer without reading, read_one() reads
    // one reply. A failed step drops the connection and throws
    // Error(kUnavailable).
    void ensure();
    void append(const RedisArgs& args);
    void flush();
    Reply read_one();
    void set_timeout(int ms);

    bool connected() const { return ctx_ != nullptr; }
    void disconnect();
    int timeout_ms() const { return timeout_ms_; }
    // The last failure was the server closing a kept connection (a restart
    // while idle): the caller may run its exchange once more at once if
    // that is safe: failed_unsent(), or the commands are read-only.
    bool closed_by_peer() const { return closed_by_peer_; }
    // The last failure happened in flush() before any byte was written.
    bool failed_unsent() const { return unsent_; }
    void clear_backoff() { next_attempt_ = {}; }

  private:
    [[noreturn]] void fail(const char* what);
    bool closed_while_idle() const;
    // Runs `fn` (one exchange with the server); see retry_stale in redis.cpp.
    template <class F>
    auto retry_stale(bool read_only, F&& fn);

    std::string host_;
    int port_;
    std::string socket_;
    int timeout_ms_;
    redisContext* ctx_ = nullptr;
    bool closed_by_peer_ = false;  // the last failure was the server closing the socket
    bool unsent_ = false;          // ... and it came before any byte was written
    std::chrono::steady_clock::time_point next_attempt_{};
};

class RedisCluster;

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
    // see acknowledged and then lost to a failover (docs/redis-cluster.md "Failover").
    Reply wait_replicas(std::string_view key, int replicas, int timeout_ms);

    // For blocking commands (BZPOPMIN, XREAD BLOCK): the socket timeout is
    // raised by `extra_ms` for this call only.
    Reply blocking_command(const RedisArgs& args, int extra_ms);

    // A PING on the master of each of `keys` (one per distinct node; in
    // single mode one PING): an ordering barrier after writes to them, e.g.
    // so that invalidations Redis pushes for them have left every node.
    void ping_nodes_of(const std::vector<std::string>& keys);

    // Cluster-wide operations (in single mode: on the one server).
    // `args` on every master, replies in the order of the masters (SCRIPT
    // FLUSH, FLUSHALL, CONFIG SET in tests and tools). Error replies throw.
    std::vector<Reply> on_every_master(const RedisArgs& args);
    // SCAN MATCH `match` COUNT `count` over every master: `page` is called
    // with each non-empty page of keys (an array reply).
    void scan_all(std::string_view match, std::size_t count,
                  const std::function<void(const Reply& keys)>& page);

    bool is_cluster() const { return cluster_ != nullptr; }
    bool connected() const;
    void disconnect();

  private:
    RedisConnection conn_;  // single mode
    std::unique_ptr<RedisCluster> cluster_;
};

// Whether an error reply's text is an outage (see the header comment):
// Redis cannot serve now, the command itself is fine.
bool is_outage_reply(std::string_view err);
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

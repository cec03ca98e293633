#include "bazaar/redis.hpp"
#include "bazaar/redis_slot.hpp"

#include "bazaar/config.hpp"

#include <hiredis.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sds.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/text/hex.hpp"
#include "redis_cluster.hpp"

namespace bazaar {

/* ---- replies ---- */

void Reply::Free::operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
}

Reply::Reply(redisReply* r) : owner_(r, Free{}), r_(r) {}

bool Reply::is_nil() const {
    return !r_ || r_->type == REDIS_REPLY_NIL;
}
bool Reply::is_error() const {
    return r_ && r_->type == REDIS_REPLY_ERROR;
}
bool Reply::is_string() const {
    return r_ && (r_->type == REDIS_REPLY_STRING || r_->type == REDIS_REPLY_STATUS);
}
bool Reply::is_integer() const {
    return r_ && r_->type == REDIS_REPLY_INTEGER;
}
bool Reply::is_array() const {
    return r_ && r_->type == REDIS_REPLY_ARRAY;
}

std::string_view Reply::str() const {
    if (!r_ || !r_->str) return {};
    return {r_->str, r_->len};
}

std::int64_t Reply::integer() const {
    if (!r_) return 0;
    if (r_->type == REDIS_REPLY_INTEGER) return r_->integer;
    if (r_->type == REDIS_REPLY_STRING) {
        try {
            return std::stoll(std::string(r_->str, r_->len));
        } catch (const std::exception&) {
            throw RedisError("expected an integer reply");
        }
    }
    return 0;
}

std::size_t Reply::size() const {
    return is_array() ? r_->elements : 0;
}

Reply Reply::at(std::size_t i) const {
    Reply child;
    if (is_array() && i < r_->elements) {
        child.owner_ = owner_;
        child.r_ = r_->element[i];
    }
    return child;
}

/* ---- arguments ---- */

RedisArgs::RedisArgs(std::initializer_list<std::string_view> parts) {
    parts_.reserve(parts.size());
    for (auto p : parts) parts_.emplace_back(p);
}

RedisArgs& RedisArgs::add(std::string_view s) {
    parts_.emplace_back(s);
    return *this;
}

RedisArgs& RedisArgs::add(std::int64_t v) {
    parts_.push_back(std::to_string(v));
    return *this;
}

/* ---- server states that are outages ---- */

namespace {

// The error codes of replies that mean "Redis cannot serve now", not "this
// command is wrong": out of memory under maxmemory/noeviction (OOM), a
// replica or a failed-over master refusing writes (READONLY), loading its
// dataset after a restart (LOADING), busy in a long script (BUSY), a replica
// cut off from its master (MASTERDOWN), refusing writes after a failed save
// (MISCONF), too few replicas for min-replicas-to-write (NOREPLICAS), a
// cluster slot migrating (TRYAGAIN) or a cluster without a quorum
// (CLUSTERDOWN). A code is a whole word: BUSYKEY and BUSYGROUP are errors of
// the command.
constexpr std::string_view kOutageCodes[] = {"OOM",        "READONLY",   "LOADING",
                                             "BUSY",       "MASTERDOWN", "MISCONF",
                                             "NOREPLICAS", "TRYAGAIN",   "CLUSTERDOWN"};
constexpr std::string_view kMaxClients = "ERR max number of clients reached";

bool code_at(std::string_view s, std::size_t pos) {
    for (auto code : kOutageCodes) {
        if (s.substr(pos, code.size()) != code) continue;
        std::size_t end = pos + code.size();
        if (end == s.size() || s[end] == ' ') return true;
    }
    return false;
}

}  // namespace

// Outages are like a closed socket: 503 UNAVAILABLE, and the caller may try
// again shortly; the connection itself is fine and is kept (but for
// max-clients, where the server closes it: read_one()). From inside a
// script the code comes back in one of two shapes: Redis 7 passes a failed
// redis.call()'s reply through ("OOM command not allowed ... script: <sha>,
// on @user_script:1."), while a script that raised it with error(), and
// Redis 6, wrap it in an ERR ("ERR user_script:1: OOM command not allowed
// ...", "ERR Error running script (call to f_<sha>): @user_script:1:
// @user_script: 1: -OOM command not allowed ..."): an ERR is searched for a
// code after ": " or "-".
bool is_outage_reply(std::string_view err) {
    if (code_at(err, 0) || err.starts_with(kMaxClients)) return true;
    if (!err.starts_with("ERR ")) return false;
    for (std::size_t i = 4; i < err.size(); ++i) {
        bool after_colon = err[i - 1] == ' ' && err[i - 2] == ':';
        bool after_dash = err[i - 1] == '-' && (err[i - 2] == ' ' || err[i - 2] == ':');
        if ((after_colon || after_dash) && code_at(err, i)) return true;
    }
    return false;
}

void throw_reply_error(const Reply& r) {
    if (is_outage_reply(r.str())) throw Error::unavailable("redis");
    throw RedisError(std::string(r.str()));
}

// Commands whose second run changes nothing: a call that may have reached
// the server before its connection broke can be sent again only when it is
// one of these (see retry_stale). Everything else, scripts included, is
// treated as a write.
bool is_read_only_command(const RedisArgs& args) {
    static const std::unordered_set<std::string> kReadOnly = {
        "PING",      "GET",    "MGET",   "EXISTS",        "TTL",    "PTTL",      "TYPE",
        "STRLEN",    "HGET",   "HMGET",  "HGETALL",       "HLEN",   "HEXISTS",   "SMEMBERS",
        "SISMEMBER", "SCARD",  "ZRANGE", "ZRANGEBYSCORE", "ZSCORE", "ZCARD",     "ZCOUNT",
        "ZRANK",     "LRANGE", "LLEN",   "LINDEX",        "XRANGE", "XREVRANGE", "XLEN",
        "SCAN",      "INFO",   "DBSIZE", "SCRIPT"};
    const auto& parts = args.parts();
    if (parts.empty()) return false;
    std::string name = parts[0];
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name == "CLUSTER") return parts.size() > 1 && (parts[1] == "SLOTS" || parts[1] == "slots");
    // SCRIPT LOAD only adds a script by its content's SHA1: harmless twice.
    if (name == "SCRIPT") return parts.size() > 1 && (parts[1] == "LOAD" || parts[1] == "load");
    return kReadOnly.count(name) > 0;
}

bool is_read_only_pipeline(const std::vector<RedisArgs>& commands) {
    for (const auto& c : commands)
        if (!is_read_only_command(c)) return false;
    return true;
}

/* ---- one connection ---- */

RedisConnection::RedisConnection(std::string host, int port, std::string socket, int timeout_ms)
    : host_(std::move(host)), port_(port), socket_(std::move(socket)), timeout_ms_(timeout_ms) {}

RedisConnection::~RedisConnection() {
    disconnect();
}

void RedisConnection::disconnect() {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
}

void RedisConnection::set_timeout(int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    redisSetTimeout(ctx_, tv);
}

// A kept connection whose server has closed it meanwhile (a restart, a
// timeout, CLIENT KILL) has reached the end of its stream while no command
// is outstanding: it is dropped before anything is written on it, so that
// the command goes out once, on a fresh connection. Readable data alone is
// not a close: a subscriber's connection has its messages waiting there,
// and they must still be read (so the end of the stream is told apart by a
// hang-up or a peek that reads 0 bytes).
bool RedisConnection::closed_while_idle() const {
    pollfd p{ctx_->fd, static_cast<short>(POLLIN | POLLRDHUP), 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    char byte;
    return ::recv(ctx_->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

void RedisConnection::ensure() {
    if (ctx_ && closed_while_idle()) {
        log::info("redis connection closed by the server while idle; reconnecting",
                  {{"node", socket_.empty() ? host_ + ":" + std::to_string(port_) : socket_}});
        disconnect();
        next_attempt_ = {};
    }
    if (ctx_) return;
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) throw Error::unavailable("redis");
    timeval tv{timeout_ms_ / 1000, (timeout_ms_ % 1000) * 1000};
    // A local Redis over its unix socket: no TCP stack, about a third less
    // CPU per round trip on both sides.
    redisContext* c = socket_.empty() ? redisConnectWithTimeout(host_.c_str(), port_, tv)
                                      : redisConnectUnixWithTimeout(socket_.c_str(), tv);
    if (!c || c->err) {
        std::string why = c ? c->errstr : "out of memory";
        if (c) redisFree(c);
        next_attempt_ = now + kReconnectBackoff;
        closed_by_peer_ = false;
        log::warn("redis connect failed",
                  {{"node", socket_.empty() ? host_ + ":" + std::to_string(port_) : socket_},
                   {"error", why}});
        throw Error::unavailable("redis");
    }
    ctx_ = c;
    set_timeout(timeout_ms_);
    if (socket_.empty()) redisEnableKeepAlive(ctx_);
}

void RedisConnection::fail(const char* what) {
    std::string why = ctx_ && ctx_->err ? ctx_->errstr : "no reply";
    closed_by_peer_ =
        ctx_ && (ctx_->err == REDIS_ERR_EOF ||
                 (ctx_->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE)));
    disconnect();
    next_attempt_ = std::chrono::steady_clock::now() + kReconnectBackoff;
    log::warn("redis connection lost",
              {{"node", socket_.empty() ? host_ + ":" + std::to_string(port_) : socket_},
               {"during", what},
               {"error", why}});
    throw Error::unavailable("redis");
}

void RedisConnection::append(const RedisArgs& args) {
    const auto& parts = args.parts();
    std::vector<const char*> argv(parts.size());
    std::vector<size_t> lens(parts.size());
    for (size_t i = 0; i < parts.size(); ++i) {
        argv[i] = parts[i].data();
        lens[i] = parts[i].size();
    }
    if (redisAppendCommandArgv(ctx_, static_cast<int>(parts.size()), argv.data(), lens.data()) !=
        REDIS_OK) {
        fail("append");
    }
}

void RedisConnection::flush() {
    // hiredis only shortens its output buffer by what a write() took: a
    // failure that leaves it whole means no byte of these commands left.
    const std::size_t pending = sdslen(ctx_->obuf);
    unsent_ = false;
    int done = 0;
    while (!done) {
        if (redisBufferWrite(ctx_, &done) != REDIS_OK) {
            unsent_ = sdslen(ctx_->obuf) == pending;
            fail("write");
        }
    }
}

Reply RedisConnection::read_one() {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) fail("read");
    Reply r(static_cast<redisReply*>(raw));
    // Redis answers a client over maxclients with this one error and closes
    // the connection: an outage, and the connection is gone.
    if (r.is_error() && r.str().starts_with(kMaxClients)) {
        disconnect();
        next_attempt_ = std::chrono::steady_clock::now() + kReconnectBackoff;
        log::warn("redis refused the connection",
                  {{"node", socket_.empty() ? host_ + ":" + std::to_string(port_) : socket_},
                   {"error", std::string(r.str())}});
        throw Error::unavailable("redis");
    }
    return r;
}

// A kept connection can be dead without this thread knowing: Redis restarted
// while the thread was idle. ensure() notices most of these before sending
// (closed_while_idle). What is left is a server that closed the connection
// just as the command went out, and there a second run is only safe when
// the server provably did not run the first: no byte of it was written, or
// it is read-only (is_read_only_command). A write the server may have
// applied (an INCR, a queue add, a script) is never sent twice: the call
// throws Error(kUnavailable) and the caller decides. Timeouts (a hung
// server) are never retried: that would only double the wait.
template <class F>
auto RedisConnection::retry_stale(bool read_only, F&& fn) {
    bool reused = ctx_ != nullptr;
    unsent_ = false;
    try {
        return fn();
    } catch (const Error& e) {
        if (!reused || !closed_by_peer_ || e.code() != ErrorCode::kUnavailable) throw;
        if (!unsent_ && !read_only) throw;
        next_attempt_ = {};
        return fn();
    }
}

Reply RedisConnection::exchange(const RedisArgs& args) {
    return retry_stale(is_read_only_command(args), [&] {
        ensure();
        append(args);
        flush();
        return read_one();
    });
}

Reply RedisConnection::command(const RedisArgs& args) {
    Reply r = exchange(args);
    if (r.is_error()) throw_reply_error(r);
    return r;
}

Reply RedisConnection::blocking_command(const RedisArgs& args, int extra_ms) {
    ensure();
    set_timeout(timeout_ms_ + extra_ms);
    append(args);
    Reply r = read_one();
    set_timeout(timeout_ms_);
    if (r.is_error()) throw_reply_error(r);
    return r;
}

std::vector<Reply> RedisConnection::pipeline(const std::vector<RedisArgs>& commands) {
    return retry_stale(is_read_only_pipeline(commands), [&] {
        ensure();
        for (const auto& c : commands) append(c);
        flush();
        std::vector<Reply> out;
        out.reserve(commands.size());
        for (size_t i = 0; i < commands.size(); ++i) out.push_back(read_one());
        for (const auto& r : out)
            if (r.is_error() && is_outage_reply(r.str())) throw Error::unavailable("redis");
        return out;
    });
}

void scan_node(RedisConnection& conn, std::string_view match, std::size_t count,
               const std::function<void(const Reply& keys)>& page) {
    std::string cursor = "0";
    do {
        Reply r = conn.command(RedisArgs{"SCAN", cursor, "MATCH", match, "COUNT"}.add(
            static_cast<std::int64_t>(count)));
        if (r.size() != 2) throw RedisError("malformed SCAN reply");
        cursor = std::string(r.at(0).str());
        if (r.at(1).size() > 0) page(r.at(1));
    } while (cursor != "0");
}

/* ---- the per-thread client: one server, or a cluster ---- */

Redis::Redis(RedisOptions opts)
    : conn_(opts.host, opts.port, opts.socket, opts.timeout_ms),
      cluster_(opts.cluster.empty() ? nullptr : std::make_unique<RedisCluster>(opts)) {}

Redis::~Redis() = default;

bool Redis::connected() const {
    return cluster_ ? cluster_->connected() : conn_.connected();
}

void Redis::disconnect() {
    if (cluster_) cluster_->disconnect();
    conn_.disconnect();
}

Reply Redis::command(const RedisArgs& args) {
    if (cluster_) [[unlikely]]
        return cluster_->command(args);
    return conn_.command(args);
}

Reply Redis::blocking_command(const RedisArgs& args, int extra_ms) {
    if (cluster_) [[unlikely]]
        return cluster_->blocking_command(args, extra_ms);
    return conn_.blocking_command(args, extra_ms);
}

std::vector<Reply> Redis::pipeline(const std::vector<RedisArgs>& commands) {
    if (cluster_) [[unlikely]]
        return cluster_->pipeline(commands);
    return conn_.pipeline(commands);
}

void Redis::ping_nodes_of(const std::vector<std::string>& keys) {
    if (cluster_) return cluster_->ping_nodes_of(keys);
    conn_.command(RedisArgs{"PING"});
}

std::vector<Reply> Redis::on_every_master(const RedisArgs& args) {
    if (cluster_) return cluster_->on_every_master(args);
    return {conn_.command(args)};
}

void Redis::scan_all(std::string_view match, std::size_t count,
                     const std::function<void(const Reply& keys)>& page) {
    if (cluster_) return cluster_->scan_all(match, count, page);
    scan_node(conn_, match, count, page);
}

/* ---- scripts ---- */

namespace {
struct Script {
    std::string source;
    std::string sha;
};
std::unordered_map<std::string, Script>& scripts() {
    static std::unordered_map<std::string, Script> s;
    return s;
}

std::string sha1_hex(const std::string& data) {
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
    return text::hex_encode(md, sizeof md);
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream f(path);
    if (!f) throw std::runtime_error("cannot read " + path.string());
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// A line `--#include <name>` is replaced by `<dir>/lib/<name>.lua`, so helper
// functions shared by several scripts (lua/lib/) live once; Redis only ever
// sees the expanded source, whose SHA1 is the one EVALSHA uses.
std::string expand_includes(const std::string& source, const std::filesystem::path& dir) {
    static constexpr std::string_view kDirective = "--#include ";
    std::string out;
    std::istringstream in(source);
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(kDirective)) {
            std::string name = line.substr(kDirective.size());
            while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
            if (name.empty() || name.find_first_of("/.") != std::string::npos)
                throw std::runtime_error("bad Lua include: " + line);
            out += read_file(dir / "lib" / (name + ".lua"));
        } else {
            out += line;
        }
        out += '\n';
    }
    return out;
}

}  // namespace

void load_scripts(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw std::runtime_error("cannot read script folder " + dir + ": " + ec.message());
    for (const auto& entry : it) {
        if (entry.path().extension() != ".lua") continue;
        Script s{expand_includes(read_file(entry.path()), dir), {}};
        s.sha = sha1_hex(s.source);
        scripts()[entry.path().stem().string()] = std::move(s);
    }
}

const std::string& script_source(std::string_view name) {
    auto it = scripts().find(std::string(name));
    if (it == scripts().end()) throw std::logic_error("unknown Redis script " + std::string(name));
    return it->second.source;
}

std::string script_sha(std::string_view name) {
    auto it = scripts().find(std::string(name));
    return it == scripts().end() ? std::string() : it->second.sha;
}

RedisArgs script_command(std::string_view name, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args) {
    auto it = scripts().find(std::string(name));
    if (it == scripts().end()) throw std::logic_error("unknown Redis script " + std::string(name));
    // Redis Cluster runs a script on the one node owning its keys' slot, so
    // keys of two slots are a layout bug (CROSSSLOT there). Refused here in
    // every mode, so a single-Redis test run catches it too.
    for (const auto& k : keys) {
        if (redis_slot::key_slot(k) != redis_slot::key_slot(keys.front()))
            throw std::logic_error("Redis script " + std::string(name) + ": keys " + keys.front() +
                                   " and " + k + " are in different cluster slots");
    }
    RedisArgs cmd{"EVALSHA", it->second.sha};
    cmd.add(static_cast<std::int64_t>(keys.size()));
    for (const auto& k : keys) cmd.add(k);
    for (const auto& a : args) cmd.add(a);
    return cmd;
}

bool is_noscript(const Reply& r) {
    return r.is_error() && r.str().substr(0, 8) == "NOSCRIPT";
}

Reply Redis::eval_script(std::string_view name, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args) {
    RedisArgs cmd = script_command(name, keys, args);
    if (cluster_) [[unlikely]]
        return cluster_->eval_script(cmd, script_source(name));
    Reply r = conn_.exchange(cmd);
    if (r.is_error() && is_outage_reply(r.str())) throw Error::unavailable("redis");
    if (is_noscript(r)) {
        conn_.command(RedisArgs{"SCRIPT", "LOAD", script_source(name)});
        r = conn_.exchange(cmd);
    }
    if (r.is_error()) throw_reply_error(r);
    return r;
}

Reply Redis::wait_replicas(std::string_view key, int replicas, int timeout_ms) {
    RedisArgs wait{"WAIT", std::to_string(replicas), std::to_string(timeout_ms)};
    // WAIT may block up to timeout_ms: the socket timeout is raised by as
    // much, as for a blocking command. Cluster: on the connection to the
    // master owning `key`'s slot.
    if (cluster_) return cluster_->command_on_slot_of(key, wait, timeout_ms);
    return conn_.blocking_command(wait, timeout_ms);
}

RedisOptions redis_options(const Config& config) {
    return {config.redis_host, config.redis_port, config.redis_timeout_ms, config.redis_socket,
            config.redis_cluster};
}

}  // namespace bazaar

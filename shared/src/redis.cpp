#include "bazaar/redis.hpp"
#include "bazaar/redis_slot.hpp"

#include "bazaar/config.hpp"

#include <hiredis.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/text/hex.hpp"

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
// Error replies that mean "Redis cannot serve now", not "this command is
// wrong": loading its dataset after a restart, busy in a long script,
// refusing writes after a failed save, a replica cut off from its master.
// They are outages like a closed socket: 503 UNAVAILABLE, and the caller may
// try again shortly. The connection itself is fine and is kept.
bool is_outage_reply(std::string_view err) {
    for (std::string_view prefix : {"LOADING", "BUSY", "MASTERDOWN", "MISCONF", "TRYAGAIN"}) {
        if (err.substr(0, prefix.size()) == prefix) return true;
    }
    return false;
}
}  // namespace

void throw_reply_error(const Reply& r) {
    if (is_outage_reply(r.str())) throw Error::unavailable("redis");
    throw RedisError(std::string(r.str()));
}

/* ---- connection ---- */

Redis::Redis(RedisOptions opts) : opts_(std::move(opts)) {}

Redis::~Redis() {
    disconnect();
}

void Redis::disconnect() {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
}

void Redis::set_timeout(int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    redisSetTimeout(ctx_, tv);
}

redisContext* Redis::ensure() {
    if (ctx_) return ctx_;
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) throw Error::unavailable("redis");
    timeval tv{opts_.timeout_ms / 1000, (opts_.timeout_ms % 1000) * 1000};
    // A local Redis over its unix socket: no TCP stack, about a third less
    // CPU per round trip on both sides.
    redisContext* c = opts_.socket.empty()
                          ? redisConnectWithTimeout(opts_.host.c_str(), opts_.port, tv)
                          : redisConnectUnixWithTimeout(opts_.socket.c_str(), tv);
    if (!c || c->err) {
        std::string why = c ? c->errstr : "out of memory";
        if (c) redisFree(c);
        next_attempt_ = now + kReconnectBackoff;
        log::warn("redis connect failed", {{"error", why}});
        throw Error::unavailable("redis");
    }
    ctx_ = c;
    set_timeout(opts_.timeout_ms);
    if (opts_.socket.empty()) redisEnableKeepAlive(ctx_);
    return ctx_;
}

void Redis::fail(const char* what) {
    std::string why = ctx_ && ctx_->err ? ctx_->errstr : "no reply";
    closed_by_peer_ =
        ctx_ && (ctx_->err == REDIS_ERR_EOF ||
                 (ctx_->err == REDIS_ERR_IO && (errno == ECONNRESET || errno == EPIPE)));
    disconnect();
    next_attempt_ = std::chrono::steady_clock::now() + kReconnectBackoff;
    log::warn("redis connection lost", {{"during", what}, {"error", why}});
    throw Error::unavailable("redis");
}

void Redis::append(const RedisArgs& args) {
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

Reply Redis::read_one() {
    void* raw = nullptr;
    if (redisGetReply(ctx_, &raw) != REDIS_OK || !raw) fail("read");
    return Reply(static_cast<redisReply*>(raw));
}

// A kept connection can be dead without this thread knowing: Redis restarted
// while the thread was idle, and the first exchange on the old socket fails.
// Without a retry, every thread of every process would fail one request after
// each Redis restart. So a call that found the connection already open and
// failed because the server had closed it is run once more, at once, on a
// fresh connection. Timeouts (a hung server) are never retried: that would
// only double the wait.
template <class F>
auto Redis::retry_stale(F&& fn) {
    bool reused = ctx_ != nullptr;
    try {
        return fn();
    } catch (const Error& e) {
        if (!reused || !closed_by_peer_ || e.code() != ErrorCode::kUnavailable) throw;
        next_attempt_ = {};
        return fn();
    }
}

Reply Redis::command(const RedisArgs& args) {
    return retry_stale([&] {
        ensure();
        append(args);
        Reply r = read_one();
        if (r.is_error()) throw_reply_error(r);
        return r;
    });
}

Reply Redis::blocking_command(const RedisArgs& args, int extra_ms) {
    ensure();
    set_timeout(opts_.timeout_ms + extra_ms);
    append(args);
    Reply r = read_one();
    set_timeout(opts_.timeout_ms);
    if (r.is_error()) throw_reply_error(r);
    return r;
}

std::vector<Reply> Redis::pipeline(const std::vector<RedisArgs>& commands) {
    return retry_stale([&] {
        ensure();
        for (const auto& c : commands) append(c);
        std::vector<Reply> out;
        out.reserve(commands.size());
        for (size_t i = 0; i < commands.size(); ++i) out.push_back(read_one());
        for (const auto& r : out)
            if (r.is_error() && is_outage_reply(r.str())) throw Error::unavailable("redis");
        return out;
    });
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
    auto it = scripts().find(std::string(name));
    RedisArgs cmd = script_command(name, keys, args);
    Reply r = retry_stale([&] {
        ensure();
        append(cmd);
        return read_one();
    });
    if (r.is_error() && is_outage_reply(r.str())) throw Error::unavailable("redis");
    if (is_noscript(r)) {
        command(RedisArgs{"SCRIPT", "LOAD", it->second.source});
        append(cmd);
        r = read_one();
    }
    if (r.is_error()) throw_reply_error(r);
    return r;
}

Reply Redis::wait_replicas(std::string_view key, int replicas, int timeout_ms) {
    // Single instance: the key's node is the one connection. (The cluster
    // router sends WAIT on the connection that owns the key's slot.)
    (void)key;
    return command(RedisArgs{"WAIT", std::to_string(replicas), std::to_string(timeout_ms)});
}

RedisOptions redis_options(const Config& config) {
    return {config.redis_host, config.redis_port, config.redis_timeout_ms, config.redis_socket,
            config.redis_cluster};
}

}  // namespace bazaar

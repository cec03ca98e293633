#include "bazaar/redis_command_keys.hpp"

#include <cctype>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "bazaar/redis_slot.hpp"

namespace bazaar::redis_keys {

namespace {

enum class Kind {
    kKeyless,
    kRange,    // keys at first..last (last < 0: counted from the end), every step-th
    kNumkeys,  // optional range, then a numkeys argument at `numkeys_at` and the keys after it
    kStreams,  // XREAD, XREADGROUP: the first half of the arguments after STREAMS
    kSubKey,   // XGROUP CREATE key ..., XINFO STREAM key, OBJECT ENCODING key
    kMemory,   // MEMORY USAGE key; other MEMORY subcommands are keyless
};

struct Spec {
    Kind kind = Kind::kKeyless;
    int first = 0;
    int last = 0;
    int step = 1;
    int numkeys_at = 0;
};

Spec keyless() {
    return {};
}
Spec range(int first, int last, int step = 1) {
    return {Kind::kRange, first, last, step, 0};
}
Spec numkeys(int numkeys_at, int first = 0, int last = 0) {
    return {Kind::kNumkeys, first, last, 1, numkeys_at};
}

const std::unordered_map<std::string, Spec>& table() {
    static const std::unordered_map<std::string, Spec> t = [] {
        std::unordered_map<std::string, Spec> m;
        for (const char* c :
             {"PING",        "ECHO",       "TIME",         "INFO",      "WAIT",      "CLIENT",
              "CONFIG",      "SCRIPT",     "FLUSHALL",     "FLUSHDB",   "DBSIZE",    "SCAN",
              "KEYS",        "DEBUG",      "CLUSTER",      "COMMAND",   "PUBLISH",   "SUBSCRIBE",
              "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "PUBSUB",    "ROLE",      "LASTSAVE",
              "SAVE",        "BGSAVE",     "BGREWRITEAOF", "READONLY",  "READWRITE", "ASKING",
              "SLOWLOG",     "LATENCY",    "FUNCTION",     "ACL",       "HELLO",     "AUTH",
              "SELECT",      "RANDOMKEY",  "SHUTDOWN",     "REPLICAOF", "FAILOVER"})
            m[c] = keyless();
        for (const char* c : {"GET",
                              "SET",
                              "SETEX",
                              "PSETEX",
                              "SETNX",
                              "GETDEL",
                              "GETEX",
                              "GETSET",
                              "INCR",
                              "INCRBY",
                              "INCRBYFLOAT",
                              "DECR",
                              "DECRBY",
                              "APPEND",
                              "STRLEN",
                              "SETRANGE",
                              "GETRANGE",
                              "EXPIRE",
                              "PEXPIRE",
                              "EXPIREAT",
                              "PEXPIREAT",
                              "EXPIRETIME",
                              "PEXPIRETIME",
                              "TTL",
                              "PTTL",
                              "PERSIST",
                              "TYPE",
                              "DUMP",
                              "RESTORE",
                              "HSET",
                              "HSETNX",
                              "HGET",
                              "HMGET",
                              "HMSET",
                              "HGETALL",
                              "HDEL",
                              "HEXISTS",
                              "HINCRBY",
                              "HINCRBYFLOAT",
                              "HKEYS",
                              "HVALS",
                              "HLEN",
                              "HSCAN",
                              "HSTRLEN",
                              "HRANDFIELD",
                              "LPUSH",
                              "RPUSH",
                              "LPUSHX",
                              "RPUSHX",
                              "LPOP",
                              "RPOP",
                              "LLEN",
                              "LRANGE",
                              "LINDEX",
                              "LSET",
                              "LREM",
                              "LTRIM",
                              "LINSERT",
                              "LPOS",
                              "SADD",
                              "SREM",
                              "SMEMBERS",
                              "SISMEMBER",
                              "SMISMEMBER",
                              "SCARD",
                              "SPOP",
                              "SRANDMEMBER",
                              "SSCAN",
                              "ZADD",
                              "ZREM",
                              "ZSCORE",
                              "ZMSCORE",
                              "ZINCRBY",
                              "ZCARD",
                              "ZCOUNT",
                              "ZRANGE",
                              "ZRANGEBYSCORE",
                              "ZREVRANGEBYSCORE",
                              "ZRANGEBYLEX",
                              "ZREVRANGEBYLEX",
                              "ZREVRANGE",
                              "ZRANK",
                              "ZREVRANK",
                              "ZREMRANGEBYSCORE",
                              "ZREMRANGEBYRANK",
                              "ZREMRANGEBYLEX",
                              "ZPOPMIN",
                              "ZPOPMAX",
                              "ZSCAN",
                              "ZLEXCOUNT",
                              "ZRANDMEMBER",
                              "XADD",
                              "XLEN",
                              "XRANGE",
                              "XREVRANGE",
                              "XDEL",
                              "XTRIM",
                              "XACK",
                              "XPENDING",
                              "XCLAIM",
                              "XAUTOCLAIM",
                              "XSETID",
                              "PFADD",
                              "GETBIT",
                              "SETBIT",
                              "BITCOUNT",
                              "BITPOS",
                              "BITFIELD",
                              "SPUBLISH"})
            m[c] = range(1, 1);
        for (const char* c : {"DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", "SINTER",
                              "SUNION", "SDIFF", "PFCOUNT", "PFMERGE", "SINTERSTORE", "SUNIONSTORE",
                              "SDIFFSTORE", "SSUBSCRIBE", "SUNSUBSCRIBE"})
            m[c] = range(1, -1);
        for (const char* c : {"MSET", "MSETNX"}) m[c] = range(1, -1, 2);
        for (const char* c : {"RENAME", "RENAMENX", "COPY", "SMOVE", "LMOVE", "RPOPLPUSH", "BLMOVE",
                              "BRPOPLPUSH", "ZRANGESTORE"})
            m[c] = range(1, 2);
        m["BITOP"] = range(2, -1);
        for (const char* c : {"BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"}) m[c] = range(1, -2);
        for (const char* c : {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})
            m[c] = numkeys(2);
        for (const char* c : {"ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"}) m[c] = numkeys(2, 1, 1);
        for (const char* c :
             {"ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD", "SINTERCARD", "LMPOP", "ZMPOP"})
            m[c] = numkeys(1);
        for (const char* c : {"BLMPOP", "BZMPOP"}) m[c] = numkeys(2);
        for (const char* c : {"XREAD", "XREADGROUP"}) m[c] = {Kind::kStreams, 0, 0, 1, 0};
        for (const char* c : {"XGROUP", "XINFO", "OBJECT"}) m[c] = {Kind::kSubKey, 0, 0, 1, 0};
        m["MEMORY"] = {Kind::kMemory, 0, 0, 1, 0};
        return m;
    }();
    return t;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

[[noreturn]] void malformed(std::string_view name) {
    throw std::logic_error("Redis command " + std::string(name) +
                           ": too few arguments to find its keys");
}

}  // namespace

std::vector<std::string_view> keys_of(const RedisArgs& args) {
    const auto& p = args.parts();
    if (p.empty()) throw std::logic_error("empty Redis command");
    auto it = table().find(upper(p[0]));
    if (it == table().end())
        throw std::logic_error("Redis command " + p[0] +
                               " is not in the cluster routing table (redis_command_keys.cpp)");
    const Spec& s = it->second;
    const int n = static_cast<int>(p.size());
    std::vector<std::string_view> keys;
    auto add_range = [&](int first, int last, int step) {
        if (last < 0) last = n + last;
        if (first >= n || last >= n) malformed(p[0]);
        for (int i = first; i <= last; i += step) keys.emplace_back(p[static_cast<std::size_t>(i)]);
    };
    switch (s.kind) {
        case Kind::kKeyless:
            break;
        case Kind::kRange:
            add_range(s.first, s.last, s.step);
            break;
        case Kind::kNumkeys: {
            if (s.first > 0) add_range(s.first, s.last, 1);
            if (s.numkeys_at >= n) malformed(p[0]);
            int count = 0;
            try {
                count = std::stoi(p[static_cast<std::size_t>(s.numkeys_at)]);
            } catch (const std::exception&) {
                malformed(p[0]);
            }
            if (count < 0 || s.numkeys_at + count >= n) malformed(p[0]);
            if (count > 0) add_range(s.numkeys_at + 1, s.numkeys_at + count, 1);
            break;
        }
        case Kind::kStreams: {
            int at = -1;
            for (int i = 1; i < n; ++i)
                if (upper(p[static_cast<std::size_t>(i)]) == "STREAMS") {
                    at = i;
                    break;
                }
            int rest = at < 0 ? 0 : n - at - 1;
            if (at < 0 || rest == 0 || rest % 2 != 0) malformed(p[0]);
            add_range(at + 1, at + rest / 2, 1);
            break;
        }
        case Kind::kSubKey:
            if (n > 2) keys.emplace_back(p[2]);
            break;
        case Kind::kMemory:
            if (n > 2 && upper(p[1]) == "USAGE") keys.emplace_back(p[2]);
            break;
    }
    return keys;
}

int command_slot(const RedisArgs& args) {
    auto keys = keys_of(args);
    if (keys.empty()) return kNoSlot;
    int slot = redis_slot::key_slot(keys.front());
    for (std::size_t i = 1; i < keys.size(); ++i) {
        if (redis_slot::key_slot(keys[i]) != slot)
            throw std::logic_error("Redis command " + args.parts()[0] + ": keys " +
                                   std::string(keys.front()) + " and " + std::string(keys[i]) +
                                   " are in different cluster slots");
    }
    return slot;
}

bool is_summing_multikey(const RedisArgs& args) {
    if (args.parts().empty()) return false;
    auto name = upper(args.parts()[0]);
    return name == "DEL" || name == "UNLINK" || name == "EXISTS" || name == "TOUCH";
}

}  // namespace bazaar::redis_keys

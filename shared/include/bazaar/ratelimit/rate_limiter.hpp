// Request rate limits (API.md §2), enforced in Redis by one Lua script
// (lua/rate_limit_gcra.lua, GCRA) so that every fcgi process on every host
// shares the same budget per client.
//
// If Redis is down the limiter fails open (the request proceeds without
// RateLimit-* headers): refusing all traffic because the limiter's store is
// gone would turn a cache outage into a full outage.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bazaar/config.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::ratelimit {

struct Policy {
    std::string name;  // "auth" | "api": part of the key
    int limit = 0;
    int window_s = 0;
};

struct Decision {
    bool allowed = true;
    int limit = 0;
    int remaining = 0;
    int reset_s = 0;        // seconds until the quota is whole again (rounded up)
    int retry_after_s = 0;  // when refused: seconds to wait (rounded up, >= 1)
};

// "rl:{auth:ip:127.0.0.1}". `identity` is "ip:<addr>" or "user:<id>".
std::string key(const Policy& p, const std::string& identity);

// Spends one request of `identity`'s budget. nullopt when Redis is down
// (fail open, see above).
std::optional<Decision> check(Redis& redis, const Policy& p, const std::string& identity);

// The same check split in two, so the caller can pipeline it with other
// commands (the read cache's lookup): the EVALSHA to send, and the decision
// from its reply. A NOSCRIPT reply (Redis restarted) falls back to check().
RedisArgs command(const Policy& p, const std::string& identity);
std::optional<Decision> from_reply(Redis& redis, const Policy& p, const std::string& identity,
                                   const Reply& reply);

// Builds a Decision from the script's reply {allowed, remaining, reset_ms,
// retry_after_ms}; split out so the rounding rules are unit-tested.
Decision decision_from_reply(const Policy& p, long long allowed, long long remaining,
                             long long reset_ms, long long retry_after_ms);

// RateLimit-Limit / -Remaining / -Reset, plus Retry-After when refused.
std::vector<std::pair<std::string, std::string>> headers(const Decision& d);

bool is_exempt(const Config& c, const std::string& client_ip);

}  // namespace bazaar::ratelimit

#include "bazaar/ratelimit/rate_limiter.hpp"

#include <algorithm>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"

namespace bazaar::ratelimit {

namespace {
int ceil_seconds(long long ms) {
    return static_cast<int>((std::max(ms, 0LL) + 999) / 1000);
}
}  // namespace

std::string key(const Policy& p, const std::string& identity) {
    return "rl:{" + p.name + ":" + identity + "}";
}

Decision decision_from_reply(const Policy& p, long long allowed, long long remaining,
                             long long reset_ms, long long retry_after_ms) {
    Decision d;
    d.allowed = allowed == 1;
    d.limit = p.limit;
    d.remaining = static_cast<int>(std::clamp(remaining, 0LL, static_cast<long long>(p.limit)));
    d.reset_s = ceil_seconds(reset_ms);
    d.retry_after_s = d.allowed ? 0 : std::max(1, ceil_seconds(retry_after_ms));
    return d;
}

RedisArgs command(const Policy& p, const std::string& identity) {
    RedisArgs a{"EVALSHA", script_sha("rate_limit_gcra"), "1", key(p, identity)};
    a.add(static_cast<std::int64_t>(p.limit));
    a.add(static_cast<std::int64_t>(p.window_s) * 1000);
    return a;
}

std::optional<Decision> from_reply(Redis& redis, const Policy& p, const std::string& identity,
                                   const Reply& r) {
    if (r.is_error()) {
        if (r.str().substr(0, 8) == "NOSCRIPT") return check(redis, p, identity);
        log::warn("rate limiter script failed", {{"error", std::string(r.str())}});
        return std::nullopt;
    }
    if (!r.is_array() || r.size() != 4) return std::nullopt;
    return decision_from_reply(p, r.at(0).integer(), r.at(1).integer(), r.at(2).integer(),
                               r.at(3).integer());
}

std::optional<Decision> check(Redis& redis, const Policy& p, const std::string& identity) {
    try {
        Reply r = redis.eval_script(
            "rate_limit_gcra", {key(p, identity)},
            {std::to_string(p.limit), std::to_string(static_cast<long long>(p.window_s) * 1000)});
        if (!r.is_array() || r.size() != 4) return std::nullopt;
        return decision_from_reply(p, r.at(0).integer(), r.at(1).integer(), r.at(2).integer(),
                                   r.at(3).integer());
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kUnavailable) throw;
        return std::nullopt;
    } catch (const RedisError& e) {
        log::warn("rate limiter script failed", {{"error", e.what()}});
        return std::nullopt;
    }
}

std::vector<std::pair<std::string, std::string>> headers(const Decision& d) {
    std::vector<std::pair<std::string, std::string>> h = {
        {"RateLimit-Limit", std::to_string(d.limit)},
        {"RateLimit-Remaining", std::to_string(d.remaining)},
        {"RateLimit-Reset", std::to_string(d.reset_s)},
    };
    if (!d.allowed) h.emplace_back("Retry-After", std::to_string(d.retry_after_s));
    return h;
}

bool is_exempt(const Config& c, const std::string& client_ip) {
    return std::find(c.rate_limit_exempt_ips.begin(), c.rate_limit_exempt_ips.end(), client_ip) !=
           c.rate_limit_exempt_ips.end();
}

}  // namespace bazaar::ratelimit

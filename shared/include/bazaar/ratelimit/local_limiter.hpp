// The rate limiter's fallback while Redis is down, for the credential routes
// (login, register, refresh, password reset): the same GCRA as
// lua/rate_limit_gcra.lua, kept in this process's memory.
//
// The shared limiter fails open when Redis is unreachable, which is right
// for ordinary API traffic but would leave password guessing unlimited for
// as long as Redis is out. Per process the budget is looser (each of the
// FCGI_PROCESSES processes grants its own `limit`), but it is bounded, and
// it needs no Redis. Keys are dropped once their TAT is in the past, and the
// table is capped (oldest-first sweep), so a flood of addresses cannot grow
// it without bound.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "bazaar/ratelimit/rate_limiter.hpp"

namespace bazaar::ratelimit {

class LocalLimiter {
  public:
    explicit LocalLimiter(std::size_t max_keys = 100000) : max_keys_(max_keys) {}

    // Spends one request of `identity` under `p` at time `now_ms` (steady
    // clock, any origin).
    Decision check(const Policy& p, const std::string& identity, std::int64_t now_ms);

    std::size_t size() const;

    // The process-wide instance fcgi uses.
    static LocalLimiter& process();

  private:
    void sweep(std::int64_t now_ms);

    const std::size_t max_keys_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::int64_t> tat_;  // key -> theoretical arrival time
};

}  // namespace bazaar::ratelimit

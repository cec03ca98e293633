#include "bazaar/ratelimit/local_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace bazaar::ratelimit {

Decision LocalLimiter::check(const Policy& p, const std::string& identity, std::int64_t now_ms) {
    const double window = static_cast<double>(p.window_s) * 1000.0;
    const double interval = window / p.limit;
    std::string k = key(p, identity);
    std::lock_guard lock(mu_);
    if (tat_.size() >= max_keys_) sweep(now_ms);
    auto it = tat_.find(k);
    double tat = it == tat_.end() ? static_cast<double>(now_ms)
                                  : std::max<double>(static_cast<double>(it->second), now_ms);
    double new_tat = tat + interval;
    double allow_at = new_tat - window;
    if (now_ms < allow_at) {
        return decision_from_reply(p, 0, 0, static_cast<long long>(std::ceil(tat - now_ms)),
                                   static_cast<long long>(std::ceil(allow_at - now_ms)));
    }
    if (it == tat_.end() && tat_.size() >= max_keys_) {
        // Still full after the sweep: refuse rather than grow.
        return decision_from_reply(p, 0, 0, static_cast<long long>(interval),
                                   static_cast<long long>(interval));
    }
    tat_[k] = static_cast<std::int64_t>(std::ceil(new_tat));
    auto remaining = static_cast<long long>(std::floor((now_ms - allow_at) / interval));
    return decision_from_reply(p, 1, remaining, static_cast<long long>(std::ceil(new_tat - now_ms)),
                               0);
}

void LocalLimiter::sweep(std::int64_t now_ms) {
    for (auto it = tat_.begin(); it != tat_.end();) {
        if (it->second <= now_ms)
            it = tat_.erase(it);
        else
            ++it;
    }
}

std::size_t LocalLimiter::size() const {
    std::lock_guard lock(mu_);
    return tat_.size();
}

LocalLimiter& LocalLimiter::process() {
    static LocalLimiter limiter;
    return limiter;
}

}  // namespace bazaar::ratelimit

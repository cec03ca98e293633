#include "bazaar/replication.hpp"

#include <atomic>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>

#include "bazaar/config.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::replication {

namespace {
std::atomic<int> g_replicas{0};
std::atomic<int> g_timeout_ms{50};
}  // namespace

void configure(const Config& config) {
    configure(config.redis_wait_replicas, config.redis_wait_timeout_ms);
}

void configure(int replicas, int timeout_ms) {
    g_replicas.store(replicas, std::memory_order_relaxed);
    g_timeout_ms.store(timeout_ms, std::memory_order_relaxed);
}

int wanted_replicas() {
    return g_replicas.load(std::memory_order_relaxed);
}

bool confirm(Redis& redis, std::string_view key, std::string_view what) {
    const int wanted = wanted_replicas();
    if (wanted <= 0) return true;
    const int timeout_ms = g_timeout_ms.load(std::memory_order_relaxed);
    std::string error;
    long long acked = 0;
    try {
        Reply r = redis.wait_replicas(key, wanted, timeout_ms);
        acked = r.integer();
        if (acked >= wanted) return true;
    } catch (const std::exception& e) {
        // The write itself succeeded; only the confirmation is missing.
        error = e.what();
    }
    metrics::inc(metrics::Counter::kRedisWaitShort);
    nlohmann::json fields = {{"write", std::string(what)},
                             {"key", std::string(key)},
                             {"replicas", acked},
                             {"wanted", wanted},
                             {"timeoutMs", timeout_ms}};
    if (!error.empty()) fields["error"] = error;
    log::warn("Redis write acknowledged before enough replicas had it", fields);
    return false;
}

}  // namespace bazaar::replication

#include "order_sweeper.hpp"

#include "bazaar/backends.hpp"
#include "bazaar/idempotency/idempotency.hpp"
#include "bazaar/log.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/orders/stock.hpp"

namespace bazaar::worker {

namespace {
constexpr int kBatch = 200;
}

void OrderSweeper::loop() {
    log::set_request_id("order-sweeper");
    Backends b(config_);
    bool failing = false;
    for (int round = 1; !stopping(); ++round) {
        try {
            int expired = orders::expire_overdue(b, kBatch);
            if (expired > 0) log::info("overdue orders expired", {{"orders", expired}});
            orders::stock::sweep_holds(b.pg, b.redis, kBatch);
            idempotency::purge_expired(b.pg, 1000);
            // Counters left too low by a lost release mirror: rebuilt on next use.
            if (round % orders::stock::kUnloadAllEverySweeps == 0)
                orders::stock::unload_all(b.redis);
            if (failing) log::info("order sweeper recovered");
            failing = false;
        } catch (const std::exception& e) {
            if (!failing) log::warn("order sweeper failing; retrying", {{"error", e.what()}});
            failing = true;
        }
        // Sleep in small steps so that stop() is prompt.
        for (int waited = 0; waited < config_.order_sweep_interval_ms && !stopping(); waited += 100)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace bazaar::worker

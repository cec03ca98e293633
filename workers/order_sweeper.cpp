#include "order_sweeper.hpp"

#include <string>
#include <vector>

#include "bazaar/backends.hpp"
#include "bazaar/idempotency/idempotency.hpp"
#include "bazaar/log.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/orders/stock.hpp"

namespace bazaar::worker {

namespace {

constexpr int kBatch = 200;

}  // namespace

// Each step runs on its own: a failing one (an outage, or a step-wide error)
// is logged once while it lasts and never keeps the later steps from
// running; hold settlement in particular must not wait for expiry.
void OrderSweeper::loop() {
    log::set_request_id("order-sweeper");
    Backends b(config_);
    std::vector<bool> failing(4, false);
    auto step = [&](std::size_t i, const char* name, auto&& fn) {
        try {
            fn();
            if (failing[i]) log::info("order sweeper step recovered", {{"step", name}});
            failing[i] = false;
        } catch (const std::exception& e) {
            if (!failing[i])
                log::warn("order sweeper step failing; the other steps go on",
                          {{"step", name}, {"error", e.what()}});
            failing[i] = true;
        }
    };
    for (int round = 1; !stopping(); ++round) {
        step(0, "expire", [&] {
            int expired = orders::expire_overdue(b, kBatch);
            if (expired > 0) log::info("overdue orders expired", {{"orders", expired}});
        });
        step(1, "holds", [&] { orders::stock::sweep_holds(b.pg, b.redis, kBatch); });
        step(2, "idempotency", [&] { idempotency::purge_expired(b.pg, 1000); });
        // Counters left too low by a lost release mirror: rebuilt on next use.
        if (round % orders::stock::kUnloadAllEverySweeps == 0)
            step(3, "unload", [&] { orders::stock::unload_all(b.redis); });
        // Sleep in small steps so that stop() is prompt.
        for (int waited = 0; waited < config_.order_sweep_interval_ms && !stopping(); waited += 100)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace bazaar::worker

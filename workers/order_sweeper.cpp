#include "order_sweeper.hpp"

#include <string>
#include <vector>

#include "bazaar/backends.hpp"
#include "bazaar/error.hpp"
#include "bazaar/idempotency/idempotency.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/orders/stock.hpp"

namespace bazaar::worker {

namespace {

constexpr int kBatch = 200;

bool is_outage(const std::exception& e) {
    const auto* err = dynamic_cast<const Error*>(&e);
    return err && err->code() == ErrorCode::kUnavailable;
}

// Expires overdue orders one by one, each on its own: an order whose expiry
// fails for a reason of its own (a row that breaks a constraint, a stock
// counter Redis refuses as the wrong type...) is logged, counted
// (bazaar_sweep_item_failures_total) and skipped, and the others are still
// expired. An outage stops the step: every other order would fail the same
// way. The SELECT is only the candidate list (the oldest first, like
// orders::expire_overdue): orders::expire() re-checks the rule under the
// order's row lock, so a stale candidate is a no-op.
int expire_each(Backends& b) {
    std::vector<std::string> due;
    b.pg.transact([&](pqxx::work& w) {
        due.clear();
        for (const auto& r :
             w.exec_params("SELECT id::text FROM orders WHERE status = 'PAYMENT_PENDING' "
                           "AND expires_at <= now() ORDER BY expires_at LIMIT $1",
                           kBatch))
            due.push_back(r[0].as<std::string>());
    });
    int expired = 0;
    for (const auto& id : due) {
        try {
            expired += orders::expire(b, id) ? 1 : 0;
        } catch (const std::exception& e) {
            if (is_outage(e)) throw;
            metrics::inc(metrics::Counter::kSweepItemFailures);
            log::error("overdue order could not be expired; skipped this round",
                       {{"orderId", id}, {"error", e.what()}});
        }
    }
    return expired;
}

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
            int expired = expire_each(b);
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

// The worker's order sweeper thread: every ORDER_SWEEP_INTERVAL_MS it
//   - expires PAYMENT_PENDING orders past expiresAt whose delayed expiry job
//     was lost (Redis flushed) or is late (orders::expire, order by order);
//   - settles checkout holds whose fcgi process died (stock::sweep_holds);
//   - deletes idempotency keys older than 24 h;
//   - every 20th round, drops the Redis stock counters so they are rebuilt
//     from Postgres (heals a counter left too low; safe at any moment,
//     orders/stock.hpp).
// Every worker process runs one; each step is safe concurrently (row locks,
// the hold's value checked in its script), so two workers never expire an
// order twice. Failures are isolated: each step runs on its own (a failing
// expiry never stalls hold settlement), and an order that cannot be expired
// for a reason of its own is logged, counted and skipped while the others
// are expired.
#pragma once

#include "background_thread.hpp"
#include "bazaar/config.hpp"

namespace bazaar::worker {

class OrderSweeper final : public BackgroundThread {
  public:
    explicit OrderSweeper(const Config& config) : config_(config) {}
    ~OrderSweeper() override { stop(); }

  private:
    void loop() override;

    const Config& config_;
};

}  // namespace bazaar::worker

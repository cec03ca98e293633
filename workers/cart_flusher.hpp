// The worker's cart flusher thread: writes the carts changed since their
// last write to Postgres, a batch per transaction, every
// cart::kFlushIntervalMs (at once again after a full batch). Every worker
// process runs one; two flushers claim disjoint batches (rules in
// bazaar/cart/cart_flush.hpp). An outage is logged once while it lasts; the
// marks wait in Redis. A failed round halves the next batch, a good one
// doubles it back.
#pragma once

#include "background_thread.hpp"
#include "bazaar/config.hpp"

namespace bazaar::worker {

class CartFlusher final : public BackgroundThread {
  public:
    explicit CartFlusher(const Config& config) : config_(config) {}
    ~CartFlusher() override { stop(); }

  private:
    void loop() override;

    const Config& config_;
};

}  // namespace bazaar::worker

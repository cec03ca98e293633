#include "cart_flusher.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "bazaar/backends.hpp"
#include "bazaar/cart/cart_flush.hpp"
#include "bazaar/log.hpp"

namespace bazaar::worker {

void CartFlusher::loop() {
    log::set_request_id("cart-flusher");
    Backends b(config_);
    bool failing = false;
    // A failed round halves the next batch (a transaction past PG_TIMEOUT_MS
    // under load would otherwise fail the same way every round); each good
    // round doubles it back up to kFlushBatch.
    int batch = cart::kFlushBatch;
    while (!stopping()) {
        bool full = false;
        try {
            auto round = cart::flush_dirty(b, batch, cart::kFlushLeaseMs);
            full = round.claimed == batch;
            batch = std::min(cart::kFlushBatch, batch * 2);
            if (failing) log::info("cart flusher recovered");
            failing = false;
        } catch (const std::exception& e) {
            batch = std::max(1, batch / 2);
            if (!failing)
                log::warn("cart flusher failing; carts wait in Redis",
                          {{"error", e.what()}, {"nextBatch", batch}});
            failing = true;
        }
        if (!full) std::this_thread::sleep_for(std::chrono::milliseconds(cart::kFlushIntervalMs));
    }
}

}  // namespace bazaar::worker

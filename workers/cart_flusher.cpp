#include "cart_flusher.hpp"

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
    while (!stopping()) {
        bool full = false;
        try {
            auto round = cart::flush_dirty(b, cart::kFlushBatch, cart::kFlushLeaseMs);
            full = round.claimed == cart::kFlushBatch;
            if (failing) log::info("cart flusher recovered");
            failing = false;
        } catch (const std::exception& e) {
            if (!failing)
                log::warn("cart flusher failing; carts wait in Redis", {{"error", e.what()}});
            failing = true;
        }
        if (!full) std::this_thread::sleep_for(std::chrono::milliseconds(cart::kFlushIntervalMs));
    }
}

}  // namespace bazaar::worker

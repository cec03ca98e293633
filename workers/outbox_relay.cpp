#include "outbox_relay.hpp"

#include <memory>
#include <pqxx/pqxx>

#include "bazaar/events/live_outbox.hpp"
#include "bazaar/log.hpp"
#include "bazaar/pg.hpp"
#include "bazaar/pg_deadline.hpp"
#include "bazaar/queue/outbox_relay.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::worker {

namespace {

constexpr int kBatch = 500;

class Wakeup : public pqxx::notification_receiver {
  public:
    explicit Wakeup(pqxx::connection_base& c)
        : pqxx::notification_receiver(c, queue::kOutboxChannel) {}
    void operator()(const std::string&, int) override {}
};

}  // namespace

void OutboxRelay::loop() {
    log::set_request_id("outbox-relay");
    Pg pg(config_.pg_conninfo(), config_.pg_timeout_ms);
    Redis redis(redis_options(config_));
    // The LISTEN connection is bounded like every other (PG_TIMEOUT_MS): a
    // frozen server cannot hold this thread in connect, LISTEN or UNLISTEN.
    const int bound = config_.pg_timeout_ms;
    bool failing = false;
    while (!stopping()) {
        OwnedConnection listener;
        std::unique_ptr<Wakeup> wakeup;
        try {
            listener = connect_with_deadline(config_.pg_conninfo(), bound);
            {
                SocketDeadline deadline(*listener, bound);
                wakeup = std::make_unique<Wakeup>(*listener);  // LISTEN
            }
            while (!stopping()) {
                // Drain first: rows committed before LISTEN started count too.
                // Live events: again while any moved, since an order's later
                // event waits for its earlier one to be stamped.
                for (bool more = true; more && !stopping();) {
                    bool jobs = queue::relay_outbox(pg, redis, kBatch,
                                                    config_.outbox_max_attempts) == kBatch;
                    bool events = live::relay_live_events(pg, redis, kBatch) > 0;
                    more = jobs || events;
                }
                if (failing) log::info("outbox relay reconnected");
                failing = false;
                listener->await_notification(1, 0);  // select() with its own 1 s bound
            }
        } catch (const std::exception& e) {
            if (!failing) log::warn("outbox relay failing; retrying", {{"error", e.what()}});
            failing = true;
        }
        if (wakeup && listener) {
            SocketDeadline deadline(*listener, bound);
            wakeup.reset();  // UNLISTEN; errors are reported as notices, never thrown
        }
        wakeup.reset();
        listener.reset();
        for (int i = 0; failing && i < 10 && !stopping(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

}  // namespace bazaar::worker

#include "outbox_relay.hpp"

#include <chrono>
#include <memory>
#include <pqxx/pqxx>

#include "bazaar/error.hpp"
#include "bazaar/events/live_outbox.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/pg.hpp"
#include "bazaar/pg_deadline.hpp"
#include "bazaar/queue/outbox_relay.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::worker {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kBatch = 500;

class Wakeup : public pqxx::notification_receiver {
  public:
    explicit Wakeup(pqxx::connection_base& c)
        : pqxx::notification_receiver(c, queue::kOutboxChannel) {}
    void operator()(const std::string&, int) override {}
};

}  // namespace

// Two kinds of failure, two answers:
//  - an outage (Redis or Postgres down, frozen or refusing: relay_outbox()
//    throws Error(kUnavailable)): every row waits, nothing is counted
//    against it, and the relay tries again after a backoff that doubles from
//    100 ms up to OUTBOX_RETRY_MAX_MS, for as long as the outage lasts; each
//    backed-off run is counted (bazaar_outbox_outage_retries_total). The
//    LISTEN connection is kept when it still works, so the first run after
//    the outage starts with it.
//  - the LISTEN connection itself broke: it is made again after the same
//    backoff.
// A run that succeeds resets the backoff.
void OutboxRelay::loop() {
    log::set_request_id("outbox-relay");
    Pg pg(config_.pg_conninfo(), config_.pg_timeout_ms);
    Redis redis(redis_options(config_));
    // The LISTEN connection is bounded like every other (PG_TIMEOUT_MS): a
    // frozen server cannot hold this thread in connect, LISTEN or UNLISTEN.
    const int bound = config_.pg_timeout_ms;
    const int cap = config_.outbox_retry_max_ms;
    int delay_ms = 0;  // the current outage backoff; 0: healthy
    auto back_off = [&](const std::exception& e) {
        bool first = delay_ms == 0;
        delay_ms = queue::next_outage_delay_ms(delay_ms, cap);
        metrics::inc(metrics::Counter::kOutboxOutageRetries);
        if (first)
            log::warn("outbox relay: a dependency is unavailable; rows wait, retrying with backoff",
                      {{"error", e.what()}, {"retryMaxMs", cap}});
    };
    // Sleeps `ms` in steps of at most 100 ms (stop() stays prompt), taking
    // notifications off the LISTEN connection when there is one; with
    // `until_notified`, a notification ends the wait (new rows to relay).
    // During a backoff it does not: the outage decides, not the load.
    auto pause = [&](pqxx::connection_base* listener, int ms, bool until_notified) {
        auto until = Clock::now() + std::chrono::milliseconds(ms);
        while (!stopping() && Clock::now() < until) {
            auto left = std::chrono::duration_cast<std::chrono::microseconds>(until - Clock::now());
            long step = std::min<long>(static_cast<long>(left.count()), 100000L);
            if (step <= 0) break;
            if (!listener) {
                std::this_thread::sleep_for(std::chrono::microseconds(step));
            } else if (listener->await_notification(0, step) > 0 && until_notified) {
                return;
            }
        }
    };
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
                try {
                    // Drain first: rows committed before LISTEN started count
                    // too. Live events: again while any moved, since an
                    // order's later event waits for its earlier one to be
                    // stamped.
                    for (bool more = true; more && !stopping();) {
                        bool jobs = queue::relay_outbox(pg, redis, kBatch,
                                                        config_.outbox_max_attempts) == kBatch;
                        bool events = live::relay_live_events(pg, redis, kBatch) > 0;
                        more = jobs || events;
                    }
                } catch (const std::exception& e) {
                    if (!queue::is_outage(e)) throw;
                    back_off(e);
                    pause(listener.get(), delay_ms, false);
                    continue;
                }
                if (delay_ms) log::info("outbox relay: the outage is over; rows move again");
                delay_ms = 0;
                // select() with a 1 s bound (in 100 ms steps for stop()).
                pause(listener.get(), 1000, true);
            }
        } catch (const std::exception& e) {
            back_off(e);
        }
        if (wakeup && listener) {
            SocketDeadline deadline(*listener, bound);
            wakeup.reset();  // UNLISTEN; errors are reported as notices, never thrown
        }
        wakeup.reset();
        listener.reset();
        pause(nullptr, delay_ms, false);
    }
}

}  // namespace bazaar::worker

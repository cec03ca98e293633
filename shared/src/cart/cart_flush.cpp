// The flusher's round (rules and the races they close: bazaar/cart/cart_flush.hpp).
#include "bazaar/cart/cart_flush.hpp"

#include "bazaar/cart/cart_service.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"

namespace bazaar::cart {

namespace {

// (Pg and Redis turn a broken connection, a timeout or a refusing server
// into Error(kUnavailable).)
bool is_outage(const std::exception& e) {
    const auto* err = dynamic_cast<const Error*>(&e);
    return err && err->code() == ErrorCode::kUnavailable;
}

}  // namespace

RedisArgs mark_dirty_command(const std::string& user_id) {
    return RedisArgs{"ZADD", kDirtyKey, "0", user_id};
}

FlushRound flush_dirty(Backends& b, int batch, std::int64_t lease_ms,
                       const std::string& dirty_key) {
    FlushRound round;
    Reply claimed = b.redis.eval_script("cart_dirty_claim", {dirty_key},
                                        {std::to_string(batch), std::to_string(lease_ms)});
    const std::string claim = std::to_string(claimed.at(0).integer());
    Reply users = claimed.at(1);
    if (users.size() == 0) return round;
    round.claimed = static_cast<int>(users.size());

    std::vector<std::string> claimed_users;
    std::vector<RedisArgs> reads;
    for (std::size_t i = 0; i < users.size(); ++i) {
        claimed_users.emplace_back(users.at(i).str());
        reads.push_back(script_command("cart_persist_begin", {cart_key(claimed_users[i])}, {}));
    }
    auto replies = b.redis.pipeline(reads);
    std::vector<UserSnapshot> live;
    for (std::size_t i = 0; i < claimed_users.size(); ++i) {
        Reply r = replies[i];
        if (is_noscript(r))
            r = b.redis.eval_script("cart_persist_begin", {cart_key(claimed_users[i])}, {});
        if (r.is_error()) throw Error::unavailable("cart snapshot: " + std::string(r.str()));
        if (auto s = snapshot_of(r)) live.push_back({claimed_users[i], std::move(*s)});
    }

    if (!live.empty()) {
        try {
            round.written = write_snapshots(b.pg, live);
        } catch (const std::exception& e) {
            if (is_outage(e)) throw;
            // One cart Postgres refuses (its user is gone) must not hold the
            // others back: each on its own, and the refused ones to a job.
            log::warn("cart flush batch refused; writing cart by cart", {{"error", e.what()}});
            for (const auto& c : live) {
                try {
                    round.written += write_snapshots(b.pg, {c});
                } catch (const std::exception& one) {
                    if (is_outage(one)) throw;
                    queue::NewJob job{kPersistJob, {{"userId", c.user_id}}};
                    job.options = persist_options(c.user_id);
                    queue::add(b.redis, kPersistQueue, job);
                    ++round.handed_to_jobs;
                    log::warn("cart refused by Postgres; handed to a cart-persist job",
                              {{"userId", c.user_id}, {"error", one.what()}});
                }
            }
        }
    }
    std::vector<std::string> done{claim};
    done.insert(done.end(), claimed_users.begin(), claimed_users.end());
    b.redis.eval_script("cart_dirty_done", {dirty_key}, done);
    metrics::inc(metrics::Counter::kCartFlushWrites, static_cast<std::uint64_t>(round.written));
    metrics::inc(metrics::Counter::kCartFlushHanded,
                 static_cast<std::uint64_t>(round.handed_to_jobs));
    return round;
}

}  // namespace bazaar::cart

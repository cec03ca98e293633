// The cleanup branch's bodies; what each removes and why is in
// bazaar/pipelines/cleanup.hpp.
#include "bazaar/pipelines/cleanup.hpp"

#include "bazaar/cart/cart_service.hpp"
#include "bazaar/idempotency/idempotency.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/orders/stock.hpp"
#include "bazaar/queue/keys.hpp"

namespace bazaar::pipelines::cleanup {

namespace {

constexpr int kBatch = 500;
// Bounds one run; whatever is left waits for the next tick.
constexpr int kMaxBatches = 200;

template <class F>
std::int64_t drain_batches(F&& batch) {
    std::int64_t total = 0;
    for (int i = 0; i < kMaxBatches; ++i) {
        int n = batch();
        total += n;
        if (n < kBatch) break;
    }
    return total;
}

}  // namespace

nlohmann::json expire_reservations(Backends& b) {
    auto orders = drain_batches([&] { return orders::expire_overdue(b, kBatch); });
    auto holds = drain_batches([&] { return orders::stock::sweep_holds(b.pg, b.redis, kBatch); });
    return {{"removed", orders + holds}, {"expiredOrders", orders}, {"staleHolds", holds}};
}

nlohmann::json purge_idempotency_keys(Backends& b) {
    return {{"removed", drain_batches([&] { return idempotency::purge_expired(b.pg, kBatch); })}};
}

std::int64_t trim_stream(Redis& redis, std::string_view stream, std::chrono::milliseconds max_age,
                         std::chrono::system_clock::time_point now) {
    auto cutoff =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) - max_age;
    if (cutoff.count() <= 0) return 0;
    // Exact (no "~"): entries with an id below <cutoff>-0 are exactly those
    // appended before the cutoff.
    return redis
        .command(
            {"XTRIM", std::string(stream), "MINID", "=", std::to_string(cutoff.count()) + "-0"})
        .integer();
}

nlohmann::json trim_job_events(Backends& b) {
    return {{"removed", trim_stream(b.redis, queue::kEventsKey, kEventsMaxAge,
                                    std::chrono::system_clock::now())}};
}

nlohmann::json remove_idle_carts(Backends& b) {
    const auto idle_s = std::chrono::duration_cast<std::chrono::seconds>(kCartIdle).count();
    std::int64_t removed = 0, alive = 0;
    std::string after = "00000000-0000-0000-0000-000000000000";
    for (int i = 0; i < kMaxBatches; ++i) {
        std::vector<std::string> users;
        b.pg.transact([&](pqxx::work& w) {
            users.clear();
            for (const auto& r : w.exec_params(
                     "SELECT user_id::text FROM carts WHERE updated_at < now() - "
                     "make_interval(secs => $1) AND user_id > $2::uuid ORDER BY user_id LIMIT $3",
                     idle_s, after, kBatch))
                users.push_back(r[0].as<std::string>());
        });
        if (users.empty()) break;
        after = users.back();
        std::vector<RedisArgs> probes;
        for (const auto& u : users) probes.push_back({"EXISTS", cart::cart_key(u)});
        auto replies = b.redis.pipeline(probes);
        std::vector<std::string> gone;
        for (std::size_t k = 0; k < users.size(); ++k) {
            if (replies[k].integer() == 0)
                gone.push_back(users[k]);
            else
                ++alive;
        }
        if (!gone.empty()) {
            removed += b.pg.transact([&](pqxx::work& w) {
                // The idle condition again: a cart written since the SELECT stays.
                return static_cast<std::int64_t>(
                    w.exec_params(
                         "DELETE FROM carts WHERE user_id = ANY($1::uuid[]) AND "
                         "updated_at < now() - make_interval(secs => $2)",
                         "{" +
                             [&] {
                                 std::string s;
                                 for (const auto& g : gone) s += (s.empty() ? "" : ",") + g;
                                 return s;
                             }() +
                             "}",
                         idle_s)
                        .affected_rows());
            });
        }
        if (static_cast<int>(users.size()) < kBatch) break;
    }
    return {{"removed", removed}, {"liveInRedis", alive}};
}

}  // namespace bazaar::pipelines::cleanup

// The flusher's round (rules and the races they close: bazaar/cart/cart_flush.hpp).
#include "bazaar/cart/cart_flush.hpp"

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>

#include "bazaar/cart/cart_service.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/pg_prepared.hpp"

namespace bazaar::cart {

namespace {

struct Marked {
    std::string user_id;
    Snapshot snapshot;
    bool live = false;  // a live cart was read (else nothing to write)
};

std::string pg_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const auto& i : items) out += (out.size() > 1 ? "," : "") + i;
    return out + "}";
}

// Every snapshot newer than its row, in one transaction: three statements
// for the whole batch (heads, then the lines of the heads written). Rows are
// taken in user id order, so two flushers never deadlock on them.
int write_batch(Pg& pg, std::vector<const Marked*> carts) {
    std::sort(carts.begin(), carts.end(),
              [](const Marked* a, const Marked* b) { return a->user_id < b->user_id; });
    std::vector<std::string> users, versions, times, line_users, books, quantities;
    for (const auto* c : carts) {
        users.push_back(c->user_id);
        versions.push_back(std::to_string(c->snapshot.version));
        times.push_back(std::to_string(c->snapshot.updated_at_ms));
        for (const auto& [book, quantity] : c->snapshot.items) {
            line_users.push_back(c->user_id);
            books.push_back(std::to_string(book));
            quantities.push_back(std::to_string(quantity));
        }
    }
    return pg.transact([&](pqxx::work& w) {
        auto written =
            exec_prepared(w,
                          "INSERT INTO carts (user_id, version, updated_at) "
                          "SELECT u, v, to_timestamp(t::double precision / 1000) "
                          "FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS s(u, v, t) "
                          "ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, "
                          "updated_at = EXCLUDED.updated_at WHERE carts.version < EXCLUDED.version "
                          "RETURNING user_id",
                          pg_array(users), pg_array(versions), pg_array(times));
        if (written.empty()) return 0;
        std::vector<std::string> heads;
        for (const auto& r : written) heads.push_back(r[0].as<std::string>());
        const std::string head_array = pg_array(heads);
        exec_prepared(w, "DELETE FROM cart_items WHERE user_id = ANY($1::uuid[])", head_array);
        // A line whose book row is gone for good is skipped (the FK would
        // refuse it). (A join with the heads, not `= ANY`: that is a scan of
        // the array per line, quadratic in a 500-cart batch.)
        exec_prepared(
            w,
            "INSERT INTO cart_items (user_id, book_id, quantity) "
            "SELECT x.u, x.book, x.quantity "
            "FROM unnest($1::uuid[], $2::bigint[], $3::int[]) AS x(u, book, quantity) "
            "JOIN books b ON b.id = x.book JOIN unnest($4::uuid[]) AS head(u) ON head.u = x.u",
            pg_array(line_users), pg_array(books), pg_array(quantities), head_array);
        return static_cast<int>(heads.size());
    });
}

bool is_outage(const std::exception& e) {
    if (const auto* err = dynamic_cast<const Error*>(&e))
        return err->code() == ErrorCode::kUnavailable;
    return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr;
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

    std::vector<Marked> carts(users.size());
    std::vector<RedisArgs> reads;
    for (std::size_t i = 0; i < users.size(); ++i) {
        carts[i].user_id = std::string(users.at(i).str());
        reads.push_back(script_command("cart_persist_begin", {cart_key(carts[i].user_id)}, {}));
    }
    auto replies = b.redis.pipeline(reads);
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::vector<const Marked*> live;
    for (std::size_t i = 0; i < carts.size(); ++i) {
        Reply r = replies[i];
        if (is_noscript(r))
            r = b.redis.eval_script("cart_persist_begin", {cart_key(carts[i].user_id)}, {});
        if (r.is_error()) throw Error::unavailable("cart snapshot: " + std::string(r.str()));
        // No live cart: Redis lost it or it idled out; Postgres is the newest copy.
        if (r.is_nil()) continue;
        auto& s = carts[i].snapshot;
        s.version = r.at(0).integer();
        s.updated_at_ms = r.at(1).integer();
        for (std::size_t k = 2; k + 1 < r.size(); k += 2)
            s.items.emplace_back(parse_book_id(r.at(k).str()), r.at(k + 1).integer());
        carts[i].live = true;
        live.push_back(&carts[i]);
        round.max_lag_ms = std::max(round.max_lag_ms, now_ms - s.updated_at_ms);
    }

    if (!live.empty()) {
        try {
            round.written = write_batch(b.pg, live);
        } catch (const std::exception& e) {
            if (is_outage(e)) throw;
            // One cart Postgres refuses (its user is gone) must not hold the
            // others back: each on its own, and the refused ones to a job.
            log::warn("cart flush batch refused; writing cart by cart", {{"error", e.what()}});
            for (const auto* c : live) {
                try {
                    round.written += write_batch(b.pg, {c});
                } catch (const std::exception& one) {
                    if (is_outage(one)) throw;
                    queue::NewJob job{kPersistJob, {{"userId", c->user_id}}};
                    job.options = persist_options(c->user_id);
                    queue::add(b.redis, kPersistQueue, job);
                    ++round.handed_to_jobs;
                    log::warn("cart refused by Postgres; handed to a cart-persist job",
                              {{"userId", c->user_id}, {"error", one.what()}});
                }
            }
        }
    }
    std::vector<std::string> done{claim};
    for (const auto& c : carts) done.push_back(c.user_id);
    b.redis.eval_script("cart_dirty_done", {dirty_key}, done);
    metrics::inc(metrics::Counter::kCartFlushWrites, static_cast<std::uint64_t>(round.written));
    metrics::inc(metrics::Counter::kCartFlushHanded,
                 static_cast<std::uint64_t>(round.handed_to_jobs));
    return round;
}

}  // namespace bazaar::cart

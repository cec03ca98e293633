#include "bazaar/orders/stock.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/time.hpp"

namespace bazaar::orders::stock {

std::string book_key(std::int64_t book_id) {
    return std::string(kTag) + ":b:" + std::to_string(book_id);
}

std::string hold_key(const std::string& order_id) {
    return std::string(kTag) + ":hold:" + order_id;
}

namespace {

std::string pg_array(const std::vector<std::int64_t>& ids) {
    std::string out = "{";
    for (auto id : ids) out += (out.size() > 1 ? "," : "") + std::to_string(id);
    return out + "}";
}

// Book ids of a hold's value, in its line order.
std::vector<std::int64_t> hold_books(const std::string& hold) {
    std::vector<std::int64_t> out;
    std::size_t pos = 0;
    while (pos < hold.size()) {
        auto end = hold.find(',', pos);
        if (end == std::string::npos) end = hold.size();
        auto colon = hold.find(':', pos);
        out.push_back(std::stoll(hold.substr(pos, colon - pos)));
        pos = end + 1;
    }
    return out;
}

// Runs stock_settle; best effort (see the header).
void settle(Redis& redis, const std::string& order_id, const std::string& hold, const char* mode,
            const std::vector<std::int64_t>& seqs) {
    try {
        std::vector<std::string> keys{kHoldsKey, hold_key(order_id)};
        for (auto id : hold_books(hold)) keys.push_back(book_key(id));
        std::vector<std::string> args{order_id, mode, hold};
        for (auto s : seqs) args.push_back(std::to_string(s));
        redis.eval_script("stock_settle", keys, args);
    } catch (const std::exception& e) {
        log::warn("stock hold not settled; the sweep will",
                  {{"orderId", order_id}, {"mode", mode}, {"error", e.what()}});
    }
}

// books.stock of the changes' books moved in a committed transaction:
// what the catalog shows of them (and the cart clamps by) must follow at
// once (API.md §3 read-your-writes). Every committed stock change of an
// order passes through commit_hold, apply or the sweep's commit, so this is
// its one place; admin and feed writes invalidate in their own write.
void shown_changed(Redis& redis, const std::vector<std::int64_t>& book_ids) {
    catalog::stock_changed(redis, book_ids);
}

std::vector<std::int64_t> books_of(const std::vector<Change>& changes) {
    std::vector<std::int64_t> ids;
    for (const auto& c : changes) ids.push_back(c.book_id);
    return ids;
}

}  // namespace

std::vector<Line> merge(const std::vector<Line>& lines) {
    std::map<std::int64_t, std::int64_t> by_book;
    for (const auto& l : lines) by_book[l.book_id] += l.quantity;
    std::vector<Line> out;
    for (const auto& [id, q] : by_book) out.push_back({id, q});
    return out;
}

Reservation reserve(Pg& pg, Redis& redis, const std::string& order_id,
                    const std::vector<Line>& input, std::int64_t lease_ms) {
    auto lines = merge(input);
    std::vector<std::string> keys{kHoldsKey, hold_key(order_id)};
    std::vector<std::string> args{order_id, std::to_string(lease_ms)};
    for (const auto& l : lines) {
        keys.push_back(book_key(l.book_id));
        args.push_back(std::to_string(l.quantity));
    }
    for (int attempt = 0;; ++attempt) {
        Reply r = redis.eval_script("stock_reserve", keys, args);
        auto code = r.at(0).integer();
        if (code == 1 || code == 2) return {{}, std::string(r.at(1).str())};
        if (code == 0) {
            Reservation out;
            for (std::size_t i = 1; i + 1 < r.size(); i += 2) {
                const auto& l = lines[static_cast<std::size_t>(r.at(i).integer() - 1)];
                out.shortages.push_back({l.book_id, l.quantity, r.at(i + 1).integer()});
            }
            return out;
        }
        // Counters missing (Redis restarted or flushed): load and try again.
        // Two rounds cover a flush between the load and the retry.
        if (attempt >= 3) throw Error::unavailable("stock counters");
        std::vector<std::int64_t> missing;
        for (std::size_t i = 1; i < r.size(); ++i)
            missing.push_back(lines[static_cast<std::size_t>(r.at(i).integer() - 1)].book_id);
        load(pg, redis, missing);
    }
}

void commit_hold(Redis& redis, const std::string& order_id, const std::string& hold,
                 const std::vector<Change>& changes) {
    std::vector<std::int64_t> seqs;
    for (const auto& c : changes) seqs.push_back(c.seq);
    settle(redis, order_id, hold, "commit", seqs);
    shown_changed(redis, books_of(changes));
}

void cancel_hold(Redis& redis, const std::string& order_id, const std::string& hold) {
    settle(redis, order_id, hold, "cancel", {});
}

void abort_hold(Redis& redis, const std::string& order_id, const std::vector<Line>& input) {
    std::vector<std::string> keys{kHoldsKey, hold_key(order_id)};
    for (const auto& l : merge(input)) keys.push_back(book_key(l.book_id));
    for (int attempt = 0; attempt < 5; ++attempt) {
        try {
            redis.eval_script("stock_settle", keys, {order_id, "abort", ""});
            return;
        } catch (const std::exception& e) {
            if (attempt == 4)
                log::warn("stock hold not aborted; the sweep will",
                          {{"orderId", order_id}, {"error", e.what()}});
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
}

Take take_in_transaction(pqxx::work& w, const std::vector<Line>& input) {
    Take out;
    for (const auto& l : merge(input)) {
        auto r = exec_prepared(
            w,
            "UPDATE books SET stock = stock - $2, stock_seq = stock_seq + 1 "
            "WHERE id = $1 AND deleted_at IS NULL AND stock >= $2 RETURNING stock_seq",
            l.book_id, l.quantity);
        if (r.empty()) {
            auto a = exec_prepared(
                w,
                "SELECT CASE WHEN deleted_at IS NULL THEN stock ELSE 0 END FROM books "
                "WHERE id = $1",
                l.book_id);
            out.shortages.push_back(
                {l.book_id, l.quantity, a.empty() ? 0 : a[0][0].as<std::int64_t>()});
            continue;
        }
        out.changes.push_back({l.book_id, r[0][0].as<std::int64_t>(), -l.quantity});
    }
    return out;
}

std::vector<Change> give_back_in_transaction(pqxx::work& w, const std::vector<Line>& input) {
    std::vector<Change> out;
    for (const auto& l : merge(input)) {
        auto r = exec_prepared1(
            w,
            "UPDATE books SET stock = stock + $2, stock_seq = stock_seq + 1 WHERE id = $1 "
            "RETURNING stock_seq",
            l.book_id, l.quantity);
        out.push_back({l.book_id, r[0].as<std::int64_t>(), l.quantity});
    }
    return out;
}

void apply(Redis& redis, const std::vector<Change>& changes) {
    if (changes.empty()) return;
    std::vector<std::string> keys, args;
    for (const auto& c : changes) {
        keys.push_back(book_key(c.book_id));
        args.push_back(std::to_string(c.seq));
        args.push_back(std::to_string(c.delta));
    }
    try {
        redis.eval_script("stock_apply", keys, args);
    } catch (const std::exception& e) {
        log::warn("stock change not mirrored to redis", {{"error", e.what()}});
        // A lost release leaves a counter lower than Postgres (an undersell,
        // healed by the sweep's unload_all). A lost take would leave it
        // higher: drop those counters so the next use reloads them.
        std::vector<std::int64_t> taken;
        for (const auto& c : changes)
            if (c.delta < 0) taken.push_back(c.book_id);
        try {
            unload(redis, taken);
        } catch (const std::exception& again) {
            log::error("stock counter above postgres until the next reload",
                       {{"books", taken.size()}, {"error", again.what()}});
        }
    }
    // Postgres has the change whatever became of the counters.
    shown_changed(redis, books_of(changes));
}

void load(Pg& pg, Redis& redis, const std::vector<std::int64_t>& book_ids) {
    if (book_ids.empty()) return;
    std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> rows;
    pg.transact([&](pqxx::work& w) {
        for (const auto& r : exec_prepared(
                 w,
                 "SELECT id, CASE WHEN deleted_at IS NULL THEN stock ELSE 0 END, stock_seq "
                 "FROM books WHERE id = ANY($1::bigint[])",
                 pg_array(book_ids)))
            rows[r[0].as<std::int64_t>()] = {r[1].as<std::int64_t>(), r[2].as<std::int64_t>()};
    });
    struct Load {
        std::vector<std::string> keys, args;
    };
    std::vector<Load> loads;
    std::vector<RedisArgs> cmds;
    for (auto id : book_ids) {
        auto it = rows.find(id);
        // A book that does not exist gets an empty counter: nothing to sell.
        auto [stock, seq] =
            it == rows.end() ? std::pair<std::int64_t, std::int64_t>{0, 0} : it->second;
        loads.push_back({{book_key(id)}, {std::to_string(stock), std::to_string(seq), uuid_v4()}});
        cmds.push_back(script_command("stock_load", loads.back().keys, loads.back().args));
    }
    auto replies = redis.pipeline(cmds);
    for (std::size_t i = 0; i < replies.size(); ++i) {
        if (is_noscript(replies[i]))
            redis.eval_script("stock_load", loads[i].keys, loads[i].args);
        else if (replies[i].is_error())
            throw_reply_error(replies[i]);
    }
    log::info("stock counters loaded", {{"books", book_ids.size()}});
}

void unload(Redis& redis, const std::vector<std::int64_t>& book_ids) {
    if (book_ids.empty()) return;
    std::vector<std::string> keys;
    for (auto id : book_ids) keys.push_back(book_key(id));
    redis.eval_script("stock_unload", keys, {});
}

int unload_all(Redis& redis) {
    int dropped = 0;
    // Every {stock} key shares one slot, so in cluster mode one master holds
    // them all; scan_all asks every master anyway.
    redis.scan_all("{stock}:b:*", 1000, [&](const Reply& page) {
        std::vector<std::string> keys;
        for (std::size_t i = 0; i < page.size(); ++i) keys.emplace_back(page.at(i).str());
        if (!keys.empty())
            dropped += static_cast<int>(redis.eval_script("stock_unload", keys, {}).integer());
    });
    return dropped;
}

RedisArgs available_command(std::int64_t book_id) {
    return RedisArgs{"HMGET", book_key(book_id), "a", "e"};
}

std::optional<std::int64_t> available_of(const Reply& r) {
    if (r.is_error()) throw_reply_error(r);
    if (r.size() < 2 || r.at(1).is_nil()) return std::nullopt;
    return r.at(0).integer();
}

std::optional<std::int64_t> available(Redis& redis, std::int64_t book_id) {
    return available_of(redis.command(available_command(book_id)));
}

int sweep_holds(Pg& pg, Redis& redis, int limit) {
    // Leases are deadlines on the clock of the node holding them
    // (stock_reserve): judging them by this host's clock, or another node's,
    // would settle a live request's hold early when the clocks disagree.
    Reply due = redis.eval_script("stock_due", {kHoldsKey}, {std::to_string(limit)});
    int handled = 0;
    for (std::size_t i = 0; i < due.size(); ++i) {
        std::string order_id(due.at(i).str());
        Reply held = redis.command({"GET", hold_key(order_id)});
        if (held.is_nil() || held.str().starts_with("settled:")) {
            redis.command({"ZREM", kHoldsKey, order_id});
            continue;
        }
        std::string hold(held.str());
        const auto books = hold_books(hold);
        std::map<std::int64_t, std::int64_t> seq_of;
        bool committed = pg.transact([&](pqxx::work& w) {
            // The order's transaction, if it ran at all, updated these book
            // rows and keeps them locked until its COMMIT is visible. Waiting
            // for their lock first (FOR SHARE: it lets other readers through,
            // and waits only for writers) makes the read below see a COMMIT
            // that was still running (a slow fsync, a frozen and resumed
            // server): without it "no order rows" could mean "not visible
            // yet", and the stock would be given back while the order takes
            // it. Book id order, as every writer of books locks them.
            std::vector<std::int64_t> sorted(books);
            std::sort(sorted.begin(), sorted.end());
            exec_prepared(w,
                          "SELECT 1 FROM books WHERE id = ANY($1::bigint[]) ORDER BY id FOR SHARE",
                          pg_array(sorted));
            // READ COMMITTED: this statement's snapshot is taken after the
            // lock was granted, so it sees that COMMIT.
            auto rows = exec_prepared(
                w, "SELECT book_id, stock_seq FROM order_items WHERE order_id = $1", order_id);
            for (const auto& r : rows) seq_of[r[0].as<std::int64_t>()] = r[1].as<std::int64_t>();
            return !rows.empty();
        });
        if (committed) {
            std::vector<std::int64_t> seqs;
            for (auto id : books) seqs.push_back(seq_of[id]);
            settle(redis, order_id, hold, "commit", seqs);
            // Its process died before it could say the stock moved.
            shown_changed(redis, books);
        } else {
            settle(redis, order_id, hold, "cancel", {});
        }
        log::warn("stock hold outlived its process; settled",
                  {{"orderId", order_id}, {"committed", committed}});
        ++handled;
    }
    return handled;
}

}  // namespace bazaar::orders::stock

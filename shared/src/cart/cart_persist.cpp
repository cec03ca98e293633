// The cart's durable copy: the cart-persist job's body (persist) and the
// version-guarded write of a snapshot (write_snapshot). Why whole snapshots
// and a version guard: see bazaar/cart/cart_service.hpp.
#include <algorithm>

#include "bazaar/cart/cart_service.hpp"
#include "bazaar/pg_array.hpp"
#include "bazaar/pg_prepared.hpp"

namespace bazaar::cart {

// Three statements for the whole batch: the heads (the WHERE makes an older
// or equal snapshot a no-op; the row lock taken orders concurrent writers of
// one cart), then the lines of the heads written. Rows are taken in user id
// order, so two writers never deadlock on them.
int write_snapshots(Pg& pg, std::vector<UserSnapshot> carts) {
    std::sort(carts.begin(), carts.end(),
              [](const UserSnapshot& a, const UserSnapshot& b) { return a.user_id < b.user_id; });
    std::vector<std::string> users, versions, times, line_users, books, quantities;
    for (const auto& c : carts) {
        users.push_back(c.user_id);
        versions.push_back(std::to_string(c.snapshot.version));
        times.push_back(std::to_string(c.snapshot.updated_at_ms));
        for (const auto& [book, quantity] : c.snapshot.items) {
            line_users.push_back(c.user_id);
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

bool write_snapshot(Pg& pg, const std::string& user_id, const Snapshot& s) {
    return write_snapshots(pg, {{user_id, s}}) == 1;
}

std::optional<Snapshot> snapshot_of(const Reply& r) {
    if (r.is_nil()) return std::nullopt;
    Snapshot s;
    s.version = r.at(0).integer();
    s.updated_at_ms = r.at(1).integer();
    for (std::size_t i = 2; i + 1 < r.size(); i += 2)
        s.items.emplace_back(parse_book_id(r.at(i).str()), r.at(i + 1).integer());
    return s;
}

const char* outcome_name(PersistOutcome o) {
    switch (o) {
        case PersistOutcome::kWritten:
            return "written";
        case PersistOutcome::kUpToDate:
            return "up-to-date";
        case PersistOutcome::kNoLiveCart:
            return "no-live-cart";
    }
    return "?";
}

PersistOutcome persist(Backends& b, const std::string& user_id) {
    Reply r = b.redis.eval_script("cart_persist_begin", {cart_key(user_id)}, {});
    // No live cart: Redis lost it (Postgres is then the newest copy there is,
    // and the next read rebuilds from it) or it idled out.
    auto s = snapshot_of(r);
    if (!s) return PersistOutcome::kNoLiveCart;
    return write_snapshot(b.pg, user_id, *s) ? PersistOutcome::kWritten : PersistOutcome::kUpToDate;
}

}  // namespace bazaar::cart

// The cart's durable copy: the cart-persist job's body (persist) and the
// version-guarded write of a snapshot (write_snapshot). Why whole snapshots
// and a version guard: see bazaar/cart/cart_service.hpp.
#include "bazaar/cart/cart_service.hpp"
#include "bazaar/pg_prepared.hpp"

namespace bazaar::cart {

bool write_snapshot(Pg& pg, const std::string& user_id, const Snapshot& s) {
    std::string books = "{", quantities = "{";
    for (const auto& [book, quantity] : s.items) {
        books += (books.size() > 1 ? "," : "") + std::to_string(book);
        quantities += (quantities.size() > 1 ? "," : "") + std::to_string(quantity);
    }
    books += "}";
    quantities += "}";
    return pg.transact([&](pqxx::work& w) {
        // The row lock taken here orders concurrent writers of one cart; the
        // WHERE makes an older or equal snapshot a no-op.
        auto head =
            exec_prepared(w,
                          "INSERT INTO carts (user_id, version, updated_at) "
                          "VALUES ($1, $2, to_timestamp($3::double precision / 1000)) "
                          "ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, "
                          "updated_at = EXCLUDED.updated_at WHERE carts.version < EXCLUDED.version "
                          "RETURNING 1",
                          user_id, s.version, s.updated_at_ms);
        if (head.empty()) return false;
        exec_prepared(w, "DELETE FROM cart_items WHERE user_id = $1", user_id);
        // A line whose book row is gone for good is skipped (the FK would refuse it).
        exec_prepared(
            w,
            "INSERT INTO cart_items (user_id, book_id, quantity) "
            "SELECT $1, x.book, x.quantity FROM unnest($2::bigint[], $3::int[]) AS x(book, "
            "quantity) "
            "JOIN books b ON b.id = x.book",
            user_id, books, quantities);
        return true;
    });
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
    if (r.is_nil()) return PersistOutcome::kNoLiveCart;
    Snapshot s;
    s.version = r.at(0).integer();
    s.updated_at_ms = r.at(1).integer();
    for (std::size_t i = 2; i + 1 < r.size(); i += 2)
        s.items.emplace_back(parse_book_id(r.at(i).str()), r.at(i + 1).integer());
    return write_snapshot(b.pg, user_id, s) ? PersistOutcome::kWritten : PersistOutcome::kUpToDate;
}

}  // namespace bazaar::cart

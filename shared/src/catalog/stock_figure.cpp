// The on-hand rule of absolute stock figures (bazaar/catalog/stock_figure.hpp).
#include "bazaar/catalog/stock_figure.hpp"

#include <algorithm>

namespace bazaar::catalog {

std::map<std::int64_t, std::int64_t> lock_and_count_held(pqxx::work& w,
                                                         std::vector<std::int64_t> book_ids) {
    std::map<std::int64_t, std::int64_t> out;
    if (book_ids.empty()) return out;
    std::sort(book_ids.begin(), book_ids.end());
    book_ids.erase(std::unique(book_ids.begin(), book_ids.end()), book_ids.end());
    std::string arr = "{";
    for (auto id : book_ids) arr += (arr.size() > 1 ? "," : "") + std::to_string(id);
    arr += "}";
    for (const auto& r :
         w.exec_params("SELECT id FROM books WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL "
                       "ORDER BY id FOR UPDATE",
                       arr))
        out[r[0].as<std::int64_t>()] = 0;
    // A new statement, so a new snapshot: it sees every order that committed
    // while we waited for the locks.
    for (const auto& r :
         w.exec_params(std::string("SELECT oi.book_id, sum(oi.quantity) FROM orders o "
                                   "JOIN order_items oi ON oi.order_id = o.id "
                                   "WHERE oi.book_id = ANY($1::bigint[]) AND ") +
                           kHoldingOrderSql + " GROUP BY oi.book_id",
                       arr)) {
        auto it = out.find(r[0].as<std::int64_t>());
        if (it != out.end()) it->second = r[1].as<std::int64_t>();
    }
    return out;
}

std::optional<std::int64_t> free_to_sell(std::int64_t figure, std::int64_t held) {
    if (figure < held) return std::nullopt;
    return figure - held;
}

std::string below_held_reason(std::int64_t figure, std::int64_t held) {
    return "stock " + std::to_string(figure) + " is the on-hand count and must be at least the " +
           std::to_string(held) + " copies held by open orders";
}

}  // namespace bazaar::catalog

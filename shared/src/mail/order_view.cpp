#include "bazaar/mail/order_view.hpp"

#include "bazaar/uuid.hpp"

namespace bazaar::mail {

std::optional<OrderView> load_order_view(pqxx::transaction_base& tx, const std::string& order_id) {
    auto id = canonical_uuid(order_id);
    if (!id) return std::nullopt;
    auto rows = tx.exec_params(
        "SELECT o.id, o.status, o.total_cents, o.currency, u.email, u.username"
        " FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1",
        *id);
    if (rows.empty()) return std::nullopt;
    OrderView v;
    v.id = rows[0][0].as<std::string>();
    v.status = rows[0][1].as<std::string>();
    v.total_cents = rows[0][2].as<std::int64_t>();
    v.currency = rows[0][3].as<std::string>();
    v.email = rows[0][4].as<std::string>();
    v.username = rows[0][5].as<std::string>();
    auto items = tx.exec_params(
        "SELECT title, unit_price_cents, quantity FROM order_items WHERE order_id = $1"
        " ORDER BY title, book_id",
        *id);
    for (const auto& r : items)
        v.items.push_back({r[0].as<std::string>(), r[1].as<std::int64_t>(), r[2].as<int>()});
    return v;
}

}  // namespace bazaar::mail

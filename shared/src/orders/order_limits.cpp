#include "bazaar/orders/order_limits.hpp"

namespace bazaar::orders {

std::vector<LimitBreach> check_limits(const OrderLimits& limits, const Held& held,
                                      const std::vector<stock::Line>& lines) {
    std::vector<LimitBreach> out;
    if (held.open_orders + 1 > limits.max_open)
        out.push_back({"ORDER_MAX_OPEN_PER_USER", limits.max_open, held.open_orders, 1, 0});
    std::int64_t held_units = 0;
    for (const auto& [book, units] : held.units_by_book) held_units += units;
    std::int64_t requested = 0;
    for (const auto& l : lines) requested += l.quantity;
    if (held_units + requested > limits.max_units)
        out.push_back({"ORDER_MAX_UNITS_PER_USER", limits.max_units, held_units, requested, 0});
    std::map<std::int64_t, std::int64_t> per_book;
    for (const auto& l : lines) per_book[l.book_id] += l.quantity;
    for (const auto& [book, units] : per_book) {
        auto it = held.units_by_book.find(book);
        std::int64_t already = it == held.units_by_book.end() ? 0 : it->second;
        if (already + units > limits.max_units_per_book)
            out.push_back(
                {"ORDER_MAX_UNITS_PER_BOOK", limits.max_units_per_book, already, units, book});
    }
    return out;
}

nlohmann::json to_json(const std::vector<LimitBreach>& breaches) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& b : breaches) {
        nlohmann::json j = {
            {"limit", b.limit}, {"max", b.max}, {"held", b.held}, {"requested", b.requested}};
        if (b.book_id) j["bookId"] = std::to_string(b.book_id);
        out.push_back(std::move(j));
    }
    return out;
}

}  // namespace bazaar::orders

// What one user may hold in unpaid orders (issue 18, "hoarding"): a pure
// decision, so the unit tests state the rule; the order transaction
// (order_service.cpp, create_from_cart) gathers what the user holds under a
// per-user advisory lock and asks check_limits() before it takes any stock.
//
//   ORDER_MAX_OPEN_PER_USER   unpaid (PAYMENT_PENDING) orders at once, this
//                             one included (default 3)
//   ORDER_MAX_UNITS_PER_USER  units in all those orders (default 30)
//   ORDER_MAX_UNITS_PER_BOOK  units of any one book in them (default 10)
//
// An order that would pass a limit is refused whole: 409 ORDER_LIMIT, with
// one `details` item per limit passed: {limit, max, held, requested} (and
// bookId for the per-book limit). Paying, cancelling or the expiry of an
// order frees what it held.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "bazaar/orders/stock.hpp"

namespace bazaar::orders {

struct OrderLimits {
    std::int64_t max_open = 0;
    std::int64_t max_units = 0;
    std::int64_t max_units_per_book = 0;
};

// What the user's unpaid orders hold now.
struct Held {
    std::int64_t open_orders = 0;
    std::map<std::int64_t, std::int64_t> units_by_book;  // bookId → units
};

struct LimitBreach {
    std::string limit;  // "ORDER_MAX_OPEN_PER_USER", ...
    std::int64_t max = 0;
    std::int64_t held = 0;
    std::int64_t requested = 0;
    std::int64_t book_id = 0;  // per-book limit only
};

// The limits a new order of `lines` would pass (empty: it may be placed).
std::vector<LimitBreach> check_limits(const OrderLimits& limits, const Held& held,
                                      const std::vector<stock::Line>& lines);

// The `details` array of the 409 ORDER_LIMIT.
nlohmann::json to_json(const std::vector<LimitBreach>& breaches);

}  // namespace bazaar::orders

#include "orders.hpp"

#include "../auth_guard.hpp"
#include "../idempotent.hpp"
#include "../rate_limit.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/orders/order_service.hpp"

namespace bazaar::http {

namespace {

Response personal(Response r) {
    r.header("Cache-Control", "private, no-store");
    return r;
}

// The order is built from the cart: a body, if any, is an empty object.
void require_empty_body(Request& req) {
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());
}

Response create_order(Request& req, Backends& b, const Principal& p, idempotency::Scope& scope) {
    require_empty_body(req);
    Response created;
    std::string recorded;  // the id of the order whose answer was recorded
    auto order = orders::create_from_cart(
        b, p.user_id,
        [&](pqxx::work& w, const orders::Order& o) {
            created = personal(Response::ok(orders::to_json(o), 201));
            scope.record_in(w, to_stored(created), o.id);
            recorded = o.id;
        },
        scope.key());
    // The key made this order before (its stored answer was lost): the
    // order as it is now; the wrapper stores this answer under the key.
    if (recorded != order.id) return personal(Response::ok(orders::to_json(order), 201));
    return created;
}

Response list_orders(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    auto page = orders::list(b, p.user_id, req.query);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& o : page.orders) items.push_back(orders::to_json(o));
    return personal(Response::list(items, page.next_cursor, page.limit));
}

Response get_order(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    return personal(
        Response::ok(orders::to_json(orders::get(b, p.user_id, std::string(req.param("id"))))));
}

Response cancel_order(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    require_empty_body(req);
    return personal(
        Response::ok(orders::to_json(orders::cancel(b, p.user_id, std::string(req.param("id"))))));
}

}  // namespace

void register_orders_routes(Router& router) {
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("POST", "/api/v1/orders", api(idempotent(create_order)));
    router.add("GET", "/api/v1/orders", api(list_orders));
    router.add("GET", "/api/v1/orders/:id", api(get_order));
    router.add("POST", "/api/v1/orders/:id/cancel", api(cancel_order));
}

}  // namespace bazaar::http

#include "cart.hpp"

#include "../auth_guard.hpp"
#include "../rate_limit.hpp"
#include "bazaar/cart/cart_service.hpp"

namespace bazaar::http {

namespace {

Response personal(const nlohmann::json& data) {
    Response r = Response::ok(data);
    r.header("Cache-Control", "private, no-store");
    return r;
}

Response get_cart(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    return personal(cart::get(b, p.user_id));
}

// A cached-read style route: the rate-limit check rides in the book lookup's
// round trip (and still settles before the cart changes).
Response set_item(Request& req, Backends& b, RateCheck& check) {
    Principal p = require_user(req, b);
    auto in = cart::parse_set_quantity(req.json());
    auto change = cart::set_quantity(b, p.user_id, in, check.piggyback());
    nlohmann::json adjusted = nlohmann::json::array();
    for (const auto& a : change.adjusted)
        adjusted.push_back({{"bookId", std::to_string(a.book_id)},
                            {"requested", a.requested},
                            {"granted", a.granted}});
    change.cart["adjusted"] = std::move(adjusted);
    return personal(change.cart);
}

Response remove_item(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    return personal(cart::remove_item(b, p.user_id, cart::parse_book_id(req.param("bookId"))));
}

Response clear_cart(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    return personal(cart::clear(b, p.user_id));
}

}  // namespace

void register_cart_routes(Router& router) {
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("GET", "/api/v1/cart", api(get_cart));
    router.add("DELETE", "/api/v1/cart", api(clear_cart));
    router.add("POST", "/api/v1/cart/items", rate_limited_read(RateClass::kApi, set_item));
    router.add("DELETE", "/api/v1/cart/items/:bookId", api(remove_item));
}

}  // namespace bazaar::http

#include "admin_orders.hpp"

#include "../auth_guard.hpp"
#include "../rate_limit.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/payments/payment_service.hpp"

namespace bazaar::http {

namespace {

Response set_status(Request& req, Backends& b) {
    require_admin(req, b);
    JsonInput in(req.json(), {"status"});
    auto status = in.string("status", {.min = 1, .max = 32});
    in.finish();
    return Response::ok(payments::admin_set_status(b, std::string(req.param("id")), *status));
}

Response sales(Request& req, Backends& b) {
    require_admin(req, b);
    Response r = Response::ok(payments::sales_stats(b));
    r.header("Cache-Control", "private, no-store");
    return r;
}

}  // namespace

void register_admin_order_routes(Router& router) {
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("PATCH", "/api/v1/admin/orders/:id/status", api(set_status));
    router.add("GET", "/api/v1/admin/stats/sales", api(sales));
}

}  // namespace bazaar::http

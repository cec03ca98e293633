#include "payments.hpp"

#include "../auth_guard.hpp"
#include "../idempotent.hpp"
#include "../rate_limit.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/payments/payment_service.hpp"

namespace bazaar::http {

namespace {

Response personal(const nlohmann::json& data, int status = 200) {
    Response r = Response::ok(data, status);
    r.header("Cache-Control", "private, no-store");
    return r;
}

Response init_payment(Request& req, Backends& b, const Principal& p) {
    JsonInput in(req.json(), {"orderId"});
    auto order_id = in.string("orderId", {.min = 1, .max = 64});
    in.finish();
    return personal(
        payments::init_payment(b, payments::thread_provider(b.config), p.user_id, *order_id), 201);
}

// API.md §5: init is idempotent per order (a second call returns the same
// intent), so Idempotency-Key is accepted but never required. With the
// header: the usual key semantics (replay, 422 on another body); without it:
// the call itself, which is safe to repeat.
Handler init_route() {
    Handler keyed = idempotent([](Request& req, Backends& b, const Principal& p,
                                  idempotency::Scope&) { return init_payment(req, b, p); });
    return [keyed](Request& req, Backends& b) -> Response {
        if (req.header("Idempotency-Key")) return keyed(req, b);
        return init_payment(req, b, require_user(req, b));
    };
}

Response webhook(Request& req, Backends& b) {
    auto result = payments::handle_webhook(b, req.header("Stripe-Signature"), req.body);
    return Response::ok(result.to_json());
}

Response test_complete(Request& req, Backends& b) {
    // Only the offline provider has it: elsewhere it does not exist at all.
    if (b.config.payment_provider != "test")
        throw Error(ErrorCode::kNotFound, "no route for " + req.path);
    Principal p = require_user(req, b);
    JsonInput in(req.json(), {"intentId", "outcome"});
    auto intent_id = in.string("intentId", {.min = 1, .max = 255});
    auto outcome = in.string("outcome", {.min = 1, .max = 20});
    if (outcome && *outcome != "succeeded" && *outcome != "failed")
        in.add_issue("outcome", "must be \"succeeded\" or \"failed\"");
    in.finish();
    return personal(payments::complete_test_payment(b, p.user_id, *intent_id, *outcome).to_json());
}

}  // namespace

void register_payment_routes(Router& router) {
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("POST", "/api/v1/payments/init", api(init_route()));
    // Not rate limited per IP: the provider delivers from a few addresses,
    // and a refused delivery is retried for days. A forged one costs one HMAC.
    router.add("POST", "/api/v1/payments/webhook", webhook);
    router.add("POST", "/api/v1/payments/test/complete", api(test_complete));
}

}  // namespace bazaar::http

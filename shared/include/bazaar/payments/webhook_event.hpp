// The body of a payment webhook: a Stripe Event, read only after its
// signature was verified (webhook_signature.hpp).
//
//   {"id":"evt_...","type":"payment_intent.succeeded",
//    "data":{"object":{"id":"pi_...","amount":4599,"currency":"usd",
//                      "metadata":{"orderId":"<uuid>"}}}, ...}
//
// Unlike our own request bodies, unknown fields are accepted: a real Stripe
// Event carries dozens (api_version, created, livemode, request, ...) and
// gains more with every API version. Only the fields we act on are checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::payments {

struct WebhookEvent {
    std::string id;    // evt_..., the dedupe key
    std::string type;  // "payment_intent.succeeded", ...
    // Set for payment_intent.* events (checked there), else empty.
    std::string intent_id;
    std::int64_t amount = 0;
    std::string currency;                 // upper-case ISO 4217
    std::optional<std::string> order_id;  // metadata.orderId, if any

    bool is_payment_intent() const { return type.rfind("payment_intent.", 0) == 0; }
};

inline constexpr std::string_view kIntentSucceeded = "payment_intent.succeeded";
inline constexpr std::string_view kIntentFailed = "payment_intent.payment_failed";

// Throws Error(kMalformedJson) when `body` is not a JSON object,
// Error(kValidationFailed) naming the field when one we need is missing or
// of the wrong type. For the two handled types, data.object needs id,
// amount and currency; other types need only id and type.
WebhookEvent parse_webhook_event(std::string_view body);

// The event payments/test/complete delivers (Stripe's shape, id "evt_test_<hex>").
std::string make_intent_event(std::string_view type, std::string_view intent_id,
                              std::int64_t amount, std::string_view currency,
                              std::string_view order_id);

}  // namespace bazaar::payments

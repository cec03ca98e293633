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
    // Set for refund events (is_refund()): data.object is a Refund, its
    // id (re_...) and status ("succeeded", "pending", "failed",
    // "canceled", "requires_action"); intent_id is its payment_intent
    // (empty when null).
    std::string refund_id;
    std::string refund_status;

    bool is_payment_intent() const { return type.rfind("payment_intent.", 0) == 0; }
    bool is_refund() const;
};

inline constexpr std::string_view kIntentSucceeded = "payment_intent.succeeded";
inline constexpr std::string_view kIntentFailed = "payment_intent.payment_failed";
// A refund's status changed (Stripe sends refund.updated, and, for older API
// versions, charge.refund.updated; refund.failed when it failed).
inline constexpr std::string_view kRefundUpdated = "refund.updated";
inline constexpr std::string_view kRefundFailed = "refund.failed";
inline constexpr std::string_view kChargeRefundUpdated = "charge.refund.updated";

// Throws Error(kMalformedJson) when `body` is not a JSON object,
// Error(kValidationFailed) naming the field when one we need is missing or
// of the wrong type. For the two payment types, data.object needs id,
// amount and currency; for the refund types, id and status; other types
// need only id and type.
WebhookEvent parse_webhook_event(std::string_view body);

// The event payments/test/complete delivers (Stripe's shape, id "evt_test_<hex>").
std::string make_intent_event(std::string_view type, std::string_view intent_id,
                              std::int64_t amount, std::string_view currency,
                              std::string_view order_id);

}  // namespace bazaar::payments

// Payments (API.md §5): the domain side of payments/init, the webhook,
// payments/test/complete, the fulfillment and refund jobs, and the admin's
// manual status moves. Handlers and jobs are thin adapters over this.
//
// Every order move goes through orders::transition() (orders/order_service.hpp:
// the one status machine, stock, the order.<status> live event in the
// outbox); nothing here writes orders.status or touches stock.
//
// The webhook is ONE Postgres transaction: the payment_events row (its
// primary key is the event id: a redelivery, even a concurrent one, blocks on
// it and then finds it, so it has no second effect), the transition, and the
// follow-up job in the outbox (queue::add_in_transaction): nothing slow runs
// while the provider waits (API.md: answer within 2 s), and a crash anywhere
// leaves either everything or nothing.
//
//   payment_intent.succeeded  PAYMENT_PENDING → PAID (+ fulfillment job)
//                             EXPIRED / FAILED → PAID when the stock can be
//                               taken again, else → REFUND_PENDING (+ refund job)
//                             CANCELLED → REFUND_PENDING (+ refund job): the
//                               customer cancelled while paying
//                             anything else: ignored (already paid)
//   payment_intent.payment_failed  PAYMENT_PENDING → FAILED (stock released)
//   other types, unknown intents   recorded, ignored (200)
// An event whose amount or currency differ from the order's is recorded as
// `mismatch` and moves nothing (a provider-side bug or a tampered
// integration must not mark an order paid for less). A mismatched success
// is an alert (error log "ALERT payment event does not match its order"),
// its charge is refunded (refund-event job), and the order lets go of that
// intent (it has succeeded: the provider takes no second payment on it), so
// payments/init makes a new one; a later success on a retired intent is a
// mismatch too.
//
//   refund.updated / refund.failed / charge.refund.updated (a Refund object)
//                             succeeded: REFUND_PENDING → REFUNDED
//                             failed/canceled: REFUND_PENDING or REFUNDED →
//                               REFUND_FAILED (error log "ALERT a refund
//                               failed"): an operator returns the money
//                             otherwise, or another refund: ignored
//
// Entering PAID enqueues fulfillment, entering REFUND_PENDING enqueues the
// refund, by whatever path (webhook, admin): follow_ups() is that one rule.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "bazaar/backends.hpp"
#include "bazaar/payments/provider.hpp"
#include "bazaar/payments/webhook_event.hpp"

namespace bazaar::payments {

inline constexpr const char* kFulfillmentQueue = "fulfillment";
inline constexpr const char* kFulfillJob = "fulfill";
inline constexpr const char* kRefundQueue = "refunds";
inline constexpr const char* kRefundJob = "refund";
// The refund of a successful payment that did not match its order.
inline constexpr const char* kRefundEventJob = "refund-event";

// This thread's provider (PAYMENT_PROVIDER), created on first use. Providers
// keep a connection (stripe) and are not thread-safe: one per thread.
Provider& thread_provider(const Config& config);

/* ---- payments/init ---- */

// The owner's PAYMENT_PENDING order gets a payment intent; a second call
// returns the same one (the route needs no Idempotency-Key for that; it
// honours one when given). After a mismatched payment retired the intent
// (see the webhook), a new one is asked for with the key
// "bazaar-intent-<orderId>-<attempt>". Errors: 404 (unknown, malformed or
// another user's order), 409 INVALID_TRANSITION (not PAYMENT_PENDING), 409
// AMOUNT_TOO_SMALL (below payments/amounts.hpp's minimum, or the provider
// says so), 503 (provider or Postgres unavailable, or the provider refused
// the request: never a 500).
// {provider, intentId, clientSecret, amountCents, currency}
nlohmann::json init_payment(Backends& b, Provider& provider, const std::string& user_id,
                            const std::string& order_id);

/* ---- webhook ---- */

struct WebhookResult {
    std::string event_id;
    std::string outcome;  // applied | duplicate | ignored | mismatch
    std::optional<std::string> order_id;
    std::optional<std::string> status;  // the order's status after the event
    nlohmann::json to_json() const;
};

// Verifies `signature` (the Stripe-Signature header, nullopt: absent) over
// the raw body with config.webhook_secrets BEFORE reading the body, then
// applies the event. 400 VALIDATION_FAILED (field Stripe-Signature) for a
// missing/malformed/unmatched/stale signature, 400 for a body that is not an
// event, 503 when Postgres is down (the provider retries).
WebhookResult handle_webhook(Backends& b, std::optional<std::string_view> signature,
                             std::string_view body);

// payments/test/complete: builds the event the provider would send for the
// caller's intent ("succeeded" | "failed"), signs it with the first webhook
// secret and delivers it through handle_webhook. 404 for an unknown intent
// or another user's.
WebhookResult complete_test_payment(Backends& b, const std::string& user_id,
                                    const std::string& intent_id, std::string_view outcome);

/* ---- follow-ups, jobs and admin ---- */

// Enqueues, in `w`, the job that entering `status` calls for (fulfillment for
// PAID, the refund for REFUND_PENDING; none otherwise). The job ids are
// "fulfill:<orderId>" and "refund:<orderId>", so a second enqueue is a no-op.
void follow_ups(pqxx::work& w, const std::string& order_id, std::string_view status);

// The fulfillment job: PAID → FULFILLING → SHIPPED (each its own
// transaction, each with its live event). Idempotent: an order already past
// a step skips it; an order that is not (or no longer) paid is left alone.
void fulfill(Backends& b, const std::string& order_id);

// The refund job: a REFUND_PENDING order's payment is refunded at the
// provider (idempotency key "bazaar-refund-<orderId>": a rerun gets the same
// refund), then → REFUNDED with the refund id when the provider answers
// "succeeded"; "pending" keeps REFUND_PENDING with the refund id recorded
// (the refund webhook settles it); "failed"/"canceled" → REFUND_FAILED.
// Anything else: nothing to do.
// Throws ProviderError (the job adapter retries the retryable ones).
void refund(Backends& b, Provider& provider, const std::string& order_id);

// The refund-event job: a successful payment event whose amount or currency
// did not match its order (outcome "mismatch", left unapplied) charged the
// customer anyway, so its amount is refunded (provider idempotency key
// "bazaar-refund-event-<eventId>") and payment_events.refund_id recorded.
// The order is untouched: it stays payable with the right amount. A rerun
// after the refund was recorded does nothing.
void refund_event(Backends& b, Provider& provider, const std::string& event_id);

// PATCH /admin/orders/:id/status: the moves of orders::kAdminTransitions
// (fulfilment, cancelling an unpaid order, the refund of a paid order that
// has not shipped), with their follow-ups. 400 for an unknown status name,
// 404, 409 INVALID_TRANSITION (off the admin table, saying why).
nlohmann::json admin_set_status(Backends& b, const std::string& order_id,
                                const std::string& status);

// GET /admin/stats/sales: per tag {tag, books, avgPriceCents, unitsSold,
// revenueCents}, one SQL aggregate. books/avgPriceCents: the tag's live
// books; unitsSold/revenueCents: lines of orders that were paid (PAID,
// FULFILLING, SHIPPED, DELIVERED), at the price paid. Highest revenue first.
nlohmann::json sales_stats(Backends& b);

}  // namespace bazaar::payments

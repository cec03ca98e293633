// The order status machine (API.md §5), in ONE place.
//
//   PENDING → PAYMENT_PENDING → PAID → FULFILLING → SHIPPED → DELIVERED
//   PAYMENT_PENDING → EXPIRED | CANCELLED | FAILED
//   EXPIRED → PAID            a late payment success whose stock could be
//                             reserved again (orders::reserve_again)
//   EXPIRED → REFUND_PENDING  a late success that could not be served
//   FAILED  → PAID            a success after a failure on the same intent
//                             (Stripe lets the customer retry a failed
//                             PaymentIntent); stock reserved again first
//   FAILED  → REFUND_PENDING  ... when that stock is gone
//   CANCELLED → REFUND_PENDING a success for an order the customer cancelled
//                             while paying: the money is returned, the
//                             cancellation stands (no CANCELLED → PAID)
//   PAID / FULFILLING → REFUND_PENDING  an admin refunds a paid order that
//                             has not shipped (its stock goes back)
//   REFUND_PENDING → REFUNDED the provider confirmed the refund (the refund
//                             job's answer "succeeded", or its webhook)
//   REFUND_PENDING / REFUNDED → REFUND_FAILED  the provider reports that
//                             the refund failed (a closed card, ...): the
//                             money is still ours; an operator must return it
//                             another way (logged as an error)
//
// Which moves hold or give back stock is decided here too: entering EXPIRED,
// CANCELLED, FAILED or REFUND_PENDING releases the order's reservation
// (once: the `stock_released` flag); leaving EXPIRED/FAILED for PAID needs it
// reserved again. Every other move leaves stock alone.
//
// Who may make a move: the machine says which moves exist; an admin (PATCH
// /admin/orders/:id/status) may make only those of kAdminTransitions, the
// fulfilment and cancellation moves. PAID, REFUNDED, REFUND_FAILED, FAILED
// and EXPIRED follow the provider's confirmed events, the refund job and the
// expiry; an admin never sets them (money does not move because a status
// was typed in).
//
// Migrations 0005 and 0012 copy the same table into Postgres (`order_transitions`)
// and a trigger refuses any UPDATE of orders.status outside it, so no code
// path (an admin's psql included) can skip the machine; the unit test
// order_status_test compares the SQL rows with kTransitions so the two
// cannot drift. A new order is inserted as PENDING or PAYMENT_PENDING
// (checkout creates it as PAYMENT_PENDING in one step: the reservation and
// the order commit together, so there is no observable PENDING phase).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace bazaar::orders {

enum class Status {
    kPending,
    kPaymentPending,
    kPaid,
    kFulfilling,
    kShipped,
    kDelivered,
    kExpired,
    kCancelled,
    kFailed,
    kRefundPending,
    kRefunded,
    kRefundFailed,
};

inline constexpr std::array<Status, 12> kAllStatuses = {
    Status::kPending, Status::kPaymentPending, Status::kPaid,     Status::kFulfilling,
    Status::kShipped, Status::kDelivered,      Status::kExpired,  Status::kCancelled,
    Status::kFailed,  Status::kRefundPending,  Status::kRefunded, Status::kRefundFailed};

// The allowed moves (from, to): the whole machine.
inline constexpr std::array<std::pair<Status, Status>, 20> kTransitions = {{
    {Status::kPending, Status::kPaymentPending},
    {Status::kPaymentPending, Status::kPaid},
    {Status::kPaid, Status::kFulfilling},
    {Status::kFulfilling, Status::kShipped},
    {Status::kShipped, Status::kDelivered},
    {Status::kPaymentPending, Status::kExpired},
    {Status::kPaymentPending, Status::kCancelled},
    {Status::kPaymentPending, Status::kFailed},
    {Status::kExpired, Status::kPaid},
    {Status::kExpired, Status::kRefundPending},
    {Status::kFailed, Status::kPaid},
    {Status::kFailed, Status::kRefundPending},
    {Status::kCancelled, Status::kRefundPending},
    {Status::kRefundPending, Status::kRefunded},
    {Status::kPaid, Status::kRefundPending},
    {Status::kFulfilling, Status::kRefundPending},
    {Status::kRefundPending, Status::kRefundFailed},
    {Status::kRefunded, Status::kRefundFailed},
    {Status::kShipped, Status::kRefundPending},
    {Status::kDelivered, Status::kRefundPending},
}};

// The moves an admin may make by hand (a subset of kTransitions): fulfilment,
// cancelling an unpaid order, and asking for the refund of a paid order, one
// that shipped included (a return; API.md §5: "the refund of an order that
// was paid"); the refund job then moves the money.
inline constexpr std::array<std::pair<Status, Status>, 8> kAdminTransitions = {{
    {Status::kPaymentPending, Status::kCancelled},
    {Status::kPaid, Status::kFulfilling},
    {Status::kFulfilling, Status::kShipped},
    {Status::kShipped, Status::kDelivered},
    {Status::kPaid, Status::kRefundPending},
    {Status::kFulfilling, Status::kRefundPending},
    {Status::kShipped, Status::kRefundPending},
    {Status::kDelivered, Status::kRefundPending},
}};

// "PAYMENT_PENDING", ... as stored and as API.md spells them.
std::string_view status_name(Status s);
// nullopt for anything else (case-sensitive, as the API is).
std::optional<Status> parse_status(std::string_view name);

bool can_transition(Status from, Status to);
// Throws Error(kInvalidTransition) naming both states when the move is not
// in kTransitions.
void require_transition(Status from, Status to);
// Whether an admin may move an order from `from` to `to` (kAdminTransitions).
bool admin_can_transition(Status from, Status to);
// Throws Error(kInvalidTransition) saying why when admin_can_transition is false.
void require_admin_transition(Status from, Status to);

// Entering `to` gives the order's stock back (EXPIRED, CANCELLED, FAILED,
// REFUND_PENDING; once, whatever the path).
bool releases_stock(Status to);
// The same for the move from `from`: the refund of an order that shipped
// gives nothing back (its copies left the shop; a returned copy is stock an
// admin counts in again).
bool releases_stock(Status from, Status to);
// Moving from `from` to `to` needs the stock reserved again first
// (EXPIRED/FAILED → PAID).
bool needs_reserve_again(Status from, Status to);

// The live event of entering `s`: "order." + the lower-case status word
// ("order.paid", "order.refund_pending"). API.md §6 lists created, paid,
// expired, cancelled, failed and shipped; the other states are announced the
// same way so that a client's order view never goes stale (unknown event
// names are ignored by clients). "order.created" is checkout's own event.
std::string event_name(Status s);

}  // namespace bazaar::orders

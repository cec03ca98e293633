// Orders (API.md §5): checkout from the cart, the customer's views, and the
// one way every order changes state.
//
// Checkout (create_from_cart):
//   1. the live cart is read once (lines, prices shown, version); empty →
//      400; a version that is an order already → 409 CART_ALREADY_ORDERED
//      (a cart checks out once; the order records the version it consumed);
//   2. every line is reserved in Redis in one script, all or nothing
//      (orders/stock.hpp); a shortage → 409 OUT_OF_STOCK with details and
//      nothing reserved;
//   3. one Postgres transaction: a per-user advisory lock, then the
//      version check again and the per-user limits of unpaid orders
//      (order_limits.hpp: 409 ORDER_LIMIT); prices and titles read from
//      books (never from the cart) and compared with the cart's (any
//      difference → 409 PRICE_CHANGED, and the cart is refreshed to the
//      current prices: the order never charges other than what was shown);
//      the minimum charge (payments/amounts.hpp: a total of 0 is PAID at
//      once, one under the provider's minimum is 409 AMOUNT_TOO_SMALL);
//      books.stock taken (CHECK stock >= 0 refuses what the
//      gate should not have let through), the order (PAYMENT_PENDING,
//      expiresAt = now + RESERVATION_TTL_S), its items, the order.created
//      live event and the delayed expiry job in the outbox, and the caller's
//      hook (the idempotency record), the cart-clear job (kCartClearQueue)
//      — all commit together or not at all;
//   4. after commit: the hold is dropped (stock.hpp), the cart is cleared if
//      it is still the version that was ordered (a cart edited during
//      checkout keeps its new lines; the order holds exactly what was
//      checked and reserved).
//   A failed transaction gives the hold back.
//
// Every later change goes through transition(): it locks the order row,
// checks the machine (order_status.hpp; the database trigger checks again),
// releases or re-takes stock exactly once (`stock_released`), updates the
// row and writes the `order.<status>` live event to the outbox, and the
// customer's email when the new status calls for one (PAID: confirmation,
// SHIPPED, EXPIRED, REFUNDED; mail/mail_jobs.hpp), all in the caller's
// transaction. Stock changes reach the Redis counters after commit
// (after_commit()); if that is missed a counter stays too low (no oversell)
// until the worker's sweep drops it (stock.hpp).
//
// How the payments side calls it:
//   - a webhook inside its own transaction:
//       auto t = orders::transition(w, order_id, Status::kPaid, {.only_from = {...}});
//       ... payment_events row, fulfillment job (queue::add_in_transaction) ...
//     and after pg.transact() returned: orders::after_commit(b.redis, t);
//   - a late success for an EXPIRED (or FAILED) order: transition(w, id,
//     kPaid) reserves the stock again itself (a savepoint: on a shortage it
//     throws Error(kOutOfStock) having changed nothing, the transaction stays
//     usable) → catch it and transition(w, id, kRefundPending) instead.
//   - or transition(b, ...) which runs its own transaction and after_commit.
// Must never: take a price from the client, change orders.status outside
// transition(), or release stock anywhere else.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bazaar/backends.hpp"
#include "bazaar/orders/order_status.hpp"
#include "bazaar/orders/stock.hpp"

namespace bazaar::orders {

inline constexpr const char* kExpiryQueue = "order-expiry";
inline constexpr const char* kExpiryJob = "expire";
// The order's own clear of the cart it consumed (data {userId, version};
// job id "clear-cart:<orderId>"), in the order's transaction: the request
// clears the cart right after commit, and this job does it should the
// process die first. Clears only while the cart is still that version.
inline constexpr const char* kCartClearQueue = "order-cart";
inline constexpr const char* kCartClearJob = "clear-cart";

struct OrderItem {
    std::int64_t book_id = 0;
    std::string title;
    std::int64_t unit_price_cents = 0;
    std::int64_t quantity = 0;
};

struct Order {
    std::string id;
    std::string user_id;
    Status status = Status::kPending;
    std::vector<OrderItem> items;
    std::int64_t total_cents = 0;
    std::string currency;
    std::optional<std::string> expires_at;  // RFC 3339
    std::optional<std::string> payment_provider;
    std::optional<std::string> payment_intent_id;
    bool stock_released = false;
    std::string created_at;  // RFC 3339
    std::string updated_at;
    std::int64_t seq = 0;  // list cursor key
};

// The API shape: {id, status, items, totalCents, currency, expiresAt,
// payment:{provider,intentId}|null, createdAt, updatedAt}.
nlohmann::json to_json(const Order& o);

/* ---- checkout ---- */

// Runs inside the order's transaction, before commit (the idempotency
// record of the response goes here, so a retry after a crash finds either
// the order with its response or nothing).
using BeforeCommit = std::function<void(pqxx::work&, const Order&)>;

// See the header comment. Errors: 400 VALIDATION_FAILED (empty cart),
// 409 OUT_OF_STOCK (details [{bookId, requested, available}]), 409
// CONFLICT (lines in different currencies), 409 CART_ALREADY_ORDERED (this
// cart version is an order already), 409 PRICE_CHANGED (details [{bookId,
// cartPriceCents, priceCents, cartCurrency, currency}]; the cart is
// refreshed), 409 ORDER_LIMIT (order_limits.hpp), 409 AMOUNT_TOO_SMALL
// (payments/amounts.hpp), 503 UNAVAILABLE.
// `idempotency_key` (the request's Idempotency-Key) is kept on the order:
// when the key made an order already, that order is returned as it is now
// and `before_commit` is not called (the caller answers with it).
Order create_from_cart(Backends& b, const std::string& user_id,
                       const BeforeCommit& before_commit = {},
                       const std::string& idempotency_key = {});

/* ---- the customer's views ---- */

struct Page {
    std::vector<Order> orders;
    std::optional<std::string> next_cursor;
    int limit = 20;
};
// Newest first; `params` are the query's limit (1..100, default 20) and
// cursor (from the previous page; 400 when forged, malformed or another
// user's). Unknown parameters are 400.
Page list(Backends& b, const std::string& user_id,
          const std::vector<std::pair<std::string, std::string>>& params);
// Error::not_found("order") for an unknown id, a malformed id, or another
// user's order (never tells them apart).
Order get(Backends& b, const std::string& user_id, const std::string& order_id);
// In a transaction of the caller; nullopt when missing. Optionally locks
// the row (FOR UPDATE).
std::optional<Order> load(pqxx::work& w, const std::string& order_id, bool for_update = false);

/* ---- state changes ---- */

struct TransitionOptions {
    // Refuse (INVALID_TRANSITION) unless the current status is one of these,
    // even where the machine would allow the move (a webhook that only moves
    // PAYMENT_PENDING orders). Empty: any status the machine allows.
    std::vector<Status> only_from;
    // Extra fields merged into the live event's data.
    nlohmann::json event_extra = nlohmann::json::object();
};

struct Transition {
    Order order;  // after the move
    Status from = Status::kPending;
    std::vector<stock::Change> stock;  // to mirror into Redis after commit
};

// The one way to change an order's status; see the header comment. Throws
// Error::not_found("order"), Error(kInvalidTransition), Error(kOutOfStock)
// (re-reserving for EXPIRED/FAILED → PAID failed; nothing changed).
Transition transition(pqxx::work& w, const std::string& order_id, Status to,
                      const TransitionOptions& opts = {});
// After the transaction of transition() committed.
void after_commit(Redis& redis, const Transition& t);
// transition() in its own transaction, then after_commit().
Transition transition(Backends& b, const std::string& order_id, Status to,
                      const TransitionOptions& opts = {});

// POST /orders/:id/cancel: the owner's PAYMENT_PENDING order → CANCELLED
// (404 for another user's, 409 INVALID_TRANSITION from any other status).
Order cancel(Backends& b, const std::string& user_id, const std::string& order_id);
// The expiry job and sweep: PAYMENT_PENDING whose expiresAt has passed →
// EXPIRED; returns false (and changes nothing) for any other order, so a
// second run, a paid order or a cancelled one is a no-op.
bool expire(Backends& b, const std::string& order_id);
// Expires up to `limit` overdue orders the delayed jobs have not (their
// Redis copy was lost), oldest first; returns how many. Each order on its
// own: one whose expiry fails for a reason of its own is logged, counted
// (bazaar_sweep_item_failures_total) and skipped, the others still expire.
// An outage (Error kUnavailable) stops the batch and is thrown: every other
// order would fail the same way. The order sweeper of bazaar-worker and the
// cleanup pipeline's job both run it.
int expire_overdue(Backends& b, int limit);

/* ---- stock of one order (payments) ---- */

// Gives the order's stock back unless already released; returns the changes
// (empty when it was). Called by transition() for EXPIRED/CANCELLED/FAILED.
std::vector<stock::Change> release_stock(pqxx::work& w, const std::string& order_id);
// Takes the order's stock again (a savepoint: all lines or none) and clears
// `stock_released`; nullopt when a line cannot be served. Called by
// transition() for EXPIRED/FAILED → PAID.
std::optional<std::vector<stock::Change>> reserve_again(pqxx::work& w, const std::string& order_id);

}  // namespace bazaar::orders

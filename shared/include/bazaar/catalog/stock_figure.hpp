// The one rule for an absolute stock figure: the `stock` an admin writes
// (POST/PATCH /api/v1/books) and the `stock` of a catalog feed row
// (data.import) mean the same thing, the book's ON-HAND count: copies in the
// shop, not yet shipped. Some of them may be held by open orders (taken from
// books.stock by checkout, not released, not shipped), so what is free to
// sell is
//
//     books.stock = figure − held(book)
//
// and a later release (cancel, expiry, failed payment) gives back copies
// that the figure already counted: never a copy that does not exist. A
// figure below what is held is refused (409 for the admin, a bad row for
// the feed) and changes nothing: clamping at 0 would let the releases of
// those orders create the missing copies again. docs/orders-payments.md ("Stock").
//
// Race-free by locking: the book rows are locked (FOR UPDATE, book id
// order, as checkout and releases lock them) BEFORE the holds are counted.
// A checkout or release of the book that committed before the lock is
// counted; one that runs after it waits for the figure's commit and moves
// the new stock. (READ COMMITTED: the count's snapshot is taken after the
// lock was granted.)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace bazaar::catalog {

// The orders (alias `o`) whose lines still hold their copies: stock taken
// and not given back (stock_released), in a status from which the order
// may still ship. SHIPPED/DELIVERED copies have left the shop; a REFUND_*
// order never ships. Migration 0013's partial index has this predicate.
inline constexpr const char* kHoldingOrderSql =
    "NOT o.stock_released AND o.status IN ('PENDING', 'PAYMENT_PENDING', 'PAID', 'FULFILLING')";

// In the caller's transaction: locks the live rows of `book_ids` (see
// above) and returns the units held per book; a book no open order holds
// maps to 0. Missing or deleted books are absent.
std::map<std::int64_t, std::int64_t> lock_and_count_held(pqxx::work& w,
                                                         std::vector<std::int64_t> book_ids);

// What is free to sell for an on-hand `figure` with `held` units held;
// nullopt when the figure is below what is held (refused).
std::optional<std::int64_t> free_to_sell(std::int64_t figure, std::int64_t held);

// The reason of a refusal, for the 409's details and the feed's bad row.
std::string below_held_reason(std::int64_t figure, std::int64_t held);

}  // namespace bazaar::catalog

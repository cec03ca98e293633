// The cart (API.md §4): Redis holds the live cart, Postgres its durable copy.
//
// Live cart: one hash per user under the user's hash tag, changed only by the
// lua/cart_*.lua scripts (key layout, event shapes and the pending-write mark
// are drawn in lua/lib/cart.lua). Each change bumps `version`, appends its
// event to the user's stream and publishes it in the same script, and in the
// same round trip (one pipeline) marks the cart for its durable write; on a
// Redis Cluster the mark follows the change's reply instead (cart_service.cpp,
// run_change: the two keys' nodes do not order one against the other).
//
// Durable copy, written behind and coalesced (bazaar/cart/cart_flush.hpp):
// the worker's flusher writes every marked cart's snapshot as it reads it
// from Redis then, a batch per transaction, so a burst of changes costs one
// Postgres write. A snapshot is written only when its version is newer than
// the row's, so a write that runs twice, late, or again after a worker crash
// never moves Postgres backwards, and the last write is always the newest
// cart: a change made after a snapshot was read marks the cart again. Whole
// snapshots, never deltas: there is no gap to resync. A cart Postgres refuses
// on its own goes to a cart-persist job (persist()), which retries and
// dead-letters it.
//
// Rebuild: when the Redis cart is missing (Redis lost its data, or the cart
// idled out after 30 days), the next read or change loads it from Postgres
// first (lua/cart_restore.lua; only if still missing, so a racing change is
// never overwritten). Lines whose book was deleted since are dropped then,
// and GET drops them too (as a versioned change, so every tab learns it).
//
// Must never: take a title, price or currency from the client (they come
// from the catalog through the read cache), or write Postgres on the request
// path other than the rebuild's reads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/backends.hpp"
#include "bazaar/cache/read_cache.hpp"
#include "bazaar/queue/producer.hpp"

namespace bazaar::cart {

inline constexpr const char* kPersistQueue = "cart-persist";
inline constexpr const char* kPersistJob = "persist";
inline constexpr std::int64_t kMaxQuantity = 10;

// "{u:<userId>}:cart"
std::string cart_key(std::string_view user_id);

/* ---- input ---- */

struct SetQuantity {
    std::int64_t book_id = 0;
    std::int64_t quantity = 0;
};

// {bookId, quantity}: bookId is a book id string ("42"; a JSON number is
// refused, ids are strings in this API), quantity an integer >= 1 (above the
// stock or kMaxQuantity it is clamped, not refused: API.md §4). Throws
// Error(kValidationFailed) naming every bad field.
SetQuantity parse_set_quantity(const nlohmann::json& body);
// A book id from a path segment; Error(kValidationFailed) on field "bookId".
std::int64_t parse_book_id(std::string_view text);

/* ---- the live cart ---- */

struct Adjustment {
    std::int64_t book_id = 0;
    std::int64_t requested = 0;
    std::int64_t granted = 0;
};

struct Change {
    nlohmann::json cart;  // as GET returns it
    std::vector<Adjustment> adjusted;
};

// The user's cart (rebuilt from Postgres first when Redis has none); lines
// of deleted books are dropped.
//   kCurrent   what GET /cart returns: a line whose price or currency is no
//              longer the catalog's is set again from it first (API.md §4).
//   kAsShown   the prices the client was last shown, for checkout to compare
//              with the catalog (PRICE_CHANGED rather than charge silently).
enum class Prices { kCurrent, kAsShown };
nlohmann::json get(Backends& b, const std::string& user_id, Prices prices = Prices::kCurrent);
// Sets a line. Error::not_found("book") for a missing or deleted book,
// Error(kOutOfStock) when none is in stock, Error(kConflict) for a book in
// another currency than the cart's, and Error(kConflict) naming `items` for a
// new book when the cart already holds Config::cart_max_lines lines (checked
// in the change's script, so concurrent adds never pass it). `piggyback`
// rides in the book lookup's round trip (the route's rate limit).
Change set_quantity(Backends& b, const std::string& user_id, const SetQuantity& in,
                    const cache::Piggyback* piggyback = nullptr);
// Error::not_found("cart item") when the book is not in the cart.
nlohmann::json remove_item(Backends& b, const std::string& user_id, std::int64_t book_id);
nlohmann::json clear(Backends& b, const std::string& user_id);
// Checkout: clears the cart only if it is still `version` (the one ordered);
// returns whether it did. A cart changed meanwhile keeps its lines.
bool clear_if_version(Backends& b, const std::string& user_id, std::int64_t version);

/* ---- the durable copy ---- */

struct Snapshot {
    std::int64_t version = 0;
    std::int64_t updated_at_ms = 0;
    std::vector<std::pair<std::int64_t, std::int64_t>> items;  // bookId, quantity
};

// Writes `s` as the user's Postgres cart if it is newer than the stored one;
// returns whether it did. Lines of books that no longer exist are skipped.
bool write_snapshot(Pg& pg, const std::string& user_id, const Snapshot& s);
struct UserSnapshot {
    std::string user_id;
    Snapshot snapshot;
};
// The same for several carts in one transaction (the flusher's batch);
// returns how many were newer and written.
int write_snapshots(Pg& pg, std::vector<UserSnapshot> carts);

// The snapshot in a reply of lua/cart_persist_begin.lua; nullopt when there
// is no live cart (Redis lost it, or it idled out: Postgres is then the
// newest copy).
std::optional<Snapshot> snapshot_of(const Reply& r);

enum class PersistOutcome { kWritten, kUpToDate, kNoLiveCart };
const char* outcome_name(PersistOutcome o);
// The cart-persist job (a cart the flusher's batch could not write): reads
// the live cart (clearing its pending-write mark) and writes it with
// write_snapshot().
PersistOutcome persist(Backends& b, const std::string& user_id);

// The options of a user's cart-persist job: jobId `cart:<user>` (the dedupe
// that coalesces a burst), removed on completion, kept a week when failed.
queue::JobOptions persist_options(const std::string& user_id);
}  // namespace bazaar::cart

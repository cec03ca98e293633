// Stock reservation: Redis is the fast gate, Postgres the record.
//
// Invariant: for a loaded book, Redis `a` = books.stock (committed) − the
// quantities of holds of the counter's epoch whose order has not committed
// yet. books.stock itself is decremented in the order's transaction and given
// back by a release, under CHECK (stock >= 0): Postgres refuses an oversell
// even when Redis is wrong (a gate that admits too much costs a failed
// order, never a sold book that is not there).
//
// Redis layout (every key under ONE hash tag, `{stock}`, so that one script
// reserves all the lines of an order atomically). Chosen over per-book tags
// with compensation (reserve book by book, give back on a shortage): that
// would let two multi-book orders each hold part of the other's stock and
// both fail, and it needs a compensation log that itself must survive
// crashes. The cost on Redis Cluster: one slot, so one master, holds every
// counter and hold and runs every reservation (a short script per order:
// checkouts are rare next to reads and cart writes), and a failover of that
// master affects every book at once; the other families (carts, cache,
// queues, sessions) spread over the other masters.
//
//   {stock}:b:<bookId>      HASH  a   available (see the invariant)
//                                 e   epoch: a random token set by each load
//                                 s   books.stock_seq the load read
//                                 p:<seq> a change committed while the
//                                     counter was not loaded (applied or
//                                     dropped by the next load)
//                                 d:<seq> a change (seq > s) apply() has
//                                     mirrored: a resent apply is a no-op
//                                     (bounded: past 1,000 marks the counter
//                                     is dropped and reloaded)
//   {stock}:holds           ZSET  orderId → lease deadline (ms)
//   {stock}:hold:<orderId>  STRING "<bookId>:<qty>:<epoch>,..." the lines
//                                 reserved, with the epoch they were taken in
//
// Checkout: reserve() (lua/stock_reserve.lua: all lines or none, a hold
// with a lease) → the Postgres transaction (books.stock −= q,
// stock_seq += 1 RETURNING stock_seq, order rows) → commit_hold() after
// commit, or cancel_hold() when the transaction failed.
//
// Loading (Redis restarted or flushed: a counter is missing): reserve()
// reports the missing books; load() reads (stock, stock_seq) from Postgres
// and lua/stock_load.lua sets a = stock + the pending p:<seq> with seq > s,
// with a fresh epoch. Why it is safe while orders are in flight:
//   - a hold taken before the load belongs to an old epoch. If its order
//     commits, commit_hold() applies −q unless the load's s ≥ the order's
//     seq (the load already saw the commit); if it fails, cancel_hold() gives
//     nothing back (the load never counted it).
//   - a release committed while the counter was missing is stored as p:<seq>
//     and applied by the load only when its seq > s.
// So dropping a counter (unload()) is safe at any moment: checkout does it
// when Postgres refused what Redis admitted (the counter was too high).
// The opposite drift (a release whose Redis mirror was lost when its process
// died right after commit leaves a counter too low: never an oversell, an
// undersell) is healed by the worker's sweep, which drops every counter now
// and then (unload_all) so that the next use rebuilds it from Postgres.
//
// Holds whose process died, or whose order's outcome the process could not
// know (Postgres unavailable: the COMMIT may have landed, so checkout gives
// nothing back): sweep_holds() (bazaar-worker, periodically) takes holds
// past their lease, by Redis's clock; if the order exists in Postgres the
// commit is finished (commit_hold with the seqs stored in order_items),
// otherwise the reservation is given back. Before it reads the order rows
// it waits for the lock of the hold's book rows: an order transaction that
// got as far as COMMIT holds them until its commit is visible, so a slow
// COMMIT is seen as committed, never judged "no order" while it lands.
// Should the order commit after all (its process stuck before it took the
// rows, then resumed), its commit_hold finds the "settled:cancel" tombstone
// and still mirrors the take.
//
// What clients see follows every committed change at once: commit_hold,
// apply and the sweep's commit invalidate the read cache of the books they
// touched (catalog::stock_changed: GET /books/:id, the lists, and the
// cart's clamp, which reads the same cached book). Admin and feed figures
// are on-hand counts (catalog/stock_figure.hpp). docs/orders-payments.md ("Stock").
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bazaar/pg.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::orders::stock {

/* ---- key names (the layout above; the tag of every one is kTag) ---- */

inline constexpr const char* kTag = "{stock}";
inline constexpr const char* kHoldsKey = "{stock}:holds";
std::string book_key(std::int64_t book_id);
std::string hold_key(const std::string& order_id);

/* ---- reservation ---- */

struct Line {
    std::int64_t book_id = 0;
    std::int64_t quantity = 0;
};

// One committed change of books.stock, to mirror into Redis after commit.
struct Change {
    std::int64_t book_id = 0;
    std::int64_t seq = 0;    // books.stock_seq after the change
    std::int64_t delta = 0;  // −q for a reservation, +q for a release
};

struct Shortage {
    std::int64_t book_id = 0;
    std::int64_t requested = 0;
    std::int64_t available = 0;
};

// The lease of a hold (`lease_ms`, IDEMPOTENCY_LEASE_MS: the same bound as
// the request's hold on its key): past it, the sweeper decides its fate.
// Longer than any request can take (its Postgres transactions are bounded
// by PG_TIMEOUT_MS).

// Lines merged per book (two lines of one book are one line of their sum),
// in book id order.
std::vector<Line> merge(const std::vector<Line>& lines);

struct Reservation {
    std::vector<Shortage> shortages;  // non-empty: nothing was reserved
    std::string hold;                 // the hold's value (commit_hold/cancel_hold)
};

// Reserves every line of merge(lines) or none, as hold `order_id` (one
// script). Loads missing counters from Postgres first. Throws
// Error(kUnavailable) when Redis or Postgres is down.
Reservation reserve(Pg& pg, Redis& redis, const std::string& order_id,
                    const std::vector<Line>& lines, std::int64_t lease_ms);

// After the order's transaction committed: drops the hold and mirrors the
// changes the hold's epoch did not count (`changes` in the hold's line
// order, i.e. merge() order). No-op when the hold was settled already (the
// sweeper); a hold lost with Redis's data (FLUSHALL) still has its changes
// mirrored, checked by stock_seq alone (lua/stock_settle.lua). Then
// invalidates the books' read cache (see above). Best effort: a Redis
// failure is logged and left to the sweeper (the cache to its TTL).
void commit_hold(Redis& redis, const std::string& order_id, const std::string& hold,
                 const std::vector<Change>& changes);
// The order's transaction failed: gives the hold back (only to counters of
// the same epoch). Best effort, like commit_hold.
void cancel_hold(Redis& redis, const std::string& order_id, const std::string& hold);
// reserve() failed with Error(kUnavailable): the script may have run (a
// timeout or a restart after it ran). Cancels the hold if there is one,
// retrying for about a second; otherwise the sweep returns it after its
// lease (meanwhile it would make other buyers see the stock as gone).
void abort_hold(Redis& redis, const std::string& order_id, const std::vector<Line>& lines);

// In the caller's transaction: books.stock −= q for each line (book id
// order, so concurrent transactions never deadlock), returning the changes.
// When a book has less than asked (or is deleted) the shortages say so and
// the caller must not commit (throw, so the transaction rolls back).
struct Take {
    std::vector<Change> changes;
    std::vector<Shortage> shortages;
};
Take take_in_transaction(pqxx::work& w, const std::vector<Line>& lines);
// In the caller's transaction: books.stock += q for each line.
std::vector<Change> give_back_in_transaction(pqxx::work& w, const std::vector<Line>& lines);

// After a commit that released stock (give_back_in_transaction) or took it
// without a hold (reserve_again): mirrors the changes into the counters
// (lua/stock_apply.lua; a counter that is loaded after the change already
// has it; idempotent per (book, seq), in any order), then invalidates the
// books' read cache. Best effort: a failure is logged and leaves the
// counter lower than Postgres (never higher: no oversell) until
// unload_all().
void apply(Redis& redis, const std::vector<Change>& changes);

// Loads the counters of `book_ids` that are missing (see above).
void load(Pg& pg, Redis& redis, const std::vector<std::int64_t>& book_ids);
// Drops counters so the next use loads them again (always safe, see above).
void unload(Redis& redis, const std::vector<std::int64_t>& book_ids);

// Drops every loaded counter (SCAN, batches); returns how many. The
// worker's sweep runs it every kUnloadAllEverySweeps sweeps.
int unload_all(Redis& redis);
inline constexpr int kUnloadAllEverySweeps = 20;

// The Redis counter of a book (nullopt: not loaded). Tests and admin.
std::optional<std::int64_t> available(Redis& redis, std::int64_t book_id);
// The same as a command to send in another round trip, and its reply read.
RedisArgs available_command(std::int64_t book_id);
std::optional<std::int64_t> available_of(const Reply& r);

// bazaar-worker: finishes or returns holds past their lease (see above);
// returns how many it handled.
int sweep_holds(Pg& pg, Redis& redis, int limit);

}  // namespace bazaar::orders::stock

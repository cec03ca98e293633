// The cache pipeline jobs (read cache layout in cache/read_cache.hpp).
//
// cache.warm loads the detail of the "most read" books into the read cache
// (the entry of GET /api/v1/books/:id without a query, the one the cart
// reads too) so their first reader after a deploy, a flush or a TTL gets a
// HIT. "Most read" is approximated by *most bought*: units in sold orders of
// the last `days` days, then the most favorited, then the newest, until
// `limit` books. Why not a per-read counter: it would add a Redis write to
// every cached read (today a HIT is one round trip, by design), and sales
// and favorites are durable signals that survive a Redis flush — exactly
// when warming matters. Warming goes through cache::get_or_load, so it
// obeys the generations (a write's invalidation is never undone) and never
// overwrites a warm entry: already-warm books only cost a lookup.
//
// cache.invalidate deletes read-cache keys matching a glob with SCAN (never
// KEYS: it blocks Redis for the whole keyspace) and UNLINK (the memory is
// freed off the main thread) pipelined per SCAN page. Only the read cache's
// namespace may be touched: the pattern must start with "c:", so a typo can
// never take queue or cart keys with it. Deleting a generation key is
// safe: the next read finds no generation and rebuilds.
#pragma once

#include <cstddef>
#include <string>

#include "bazaar/backends.hpp"

namespace bazaar::pipelines {

struct WarmOutcome {
    std::size_t books = 0;         // books chosen
    std::size_t warmed = 0;        // loaded from Postgres and stored
    std::size_t already_warm = 0;  // hits
    std::size_t missing = 0;       // deleted between choice and load
};
WarmOutcome warm_books(Backends& b, int limit, int days);

struct InvalidateOutcome {
    std::size_t scanned = 0;  // keys SCAN returned (may repeat, per SCAN's contract)
    std::size_t removed = 0;  // keys UNLINK actually deleted
};
// Throws Error(kValidationFailed) for a pattern outside "c:*".
InvalidateOutcome invalidate_matching(Redis& redis, const std::string& pattern,
                                      std::size_t scan_count = 1000);

}  // namespace bazaar::pipelines

// Write-behind of the carts' durable copy: a change marks its user in one
// Redis set, a flusher in the worker writes the marked carts to Postgres in
// batches, one transaction (one commit) per batch.
//
// Why not a queue job per change: a job costs a queue_add script and a
// job:events entry on the request path and three scripts in the worker, for
// a write that coalesces anyway (bench/RESULTS.md, issue 20). The mark is a
// ZADD in the change's own round trip.
//
// The set `{carts}:dirty` holds user ids: score 0 = changed since its last
// write; score T > 0 = claimed by a flusher until T (ms, Redis clock).
//   change   ZADD 0 <user>, after the change's script: in the same pipeline
//            on one Redis (one connection keeps them in order), after the
//            script's reply on a Cluster (cart and set live on different
//            nodes), and there only when the script asks (`need`, see
//            lua/lib/cart.lua), so a burst costs one mark.
//   flush    claim up to a batch (lua/cart_dirty_claim.lua: score now+lease),
//            read each snapshot (lua/cart_persist_begin.lua clears `pq`),
//            write them in one transaction (version-guarded, as
//            write_snapshot), then drop each mark whose score is still the
//            claim's (lua/cart_dirty_done.lua). A change after the claim set
//            the score back to 0: that cart is written again next round.
//   crash    a flusher dying mid-batch leaves its marks; the next claim after
//            the lease takes them (writes are version-guarded, so twice is
//            harmless).
//   failure  a batch Postgres refuses is written cart by cart; a cart that
//            fails on its own (its user is gone: a foreign key) is handed to
//            a cart-persist job, which retries with backoff and dead-letters
//            it with its reason. An outage leaves every mark for the next
//            round.
// Lag: the flusher runs every kFlushIntervalMs (and again at once after a
// full batch), so a change is in Postgres within about that plus one
// transaction (bench/run cart measures it).
#pragma once

#include <cstdint>
#include <string>

#include "bazaar/backends.hpp"

namespace bazaar::cart {

inline constexpr const char* kDirtyKey = "{carts}:dirty";
inline constexpr int kFlushIntervalMs = 100;
inline constexpr int kFlushBatch = 500;
// Long enough for a batch's transaction under load, short enough that a
// crashed flusher's carts are written again within seconds.
inline constexpr std::int64_t kFlushLeaseMs = 10000;

// The mark of a change, to send after the change's script.
RedisArgs mark_dirty_command(const std::string& user_id);

struct FlushRound {
    int claimed = 0;         // carts taken this round
    int written = 0;         // snapshots newer than Postgres's, written
    int handed_to_jobs = 0;  // carts Postgres refused on their own
};
// One round: claim up to `batch` marked carts and write them. Throws
// Error(kUnavailable) on an outage (the marks stay). `dirty_key`: another
// set than the product's, for tests only.
FlushRound flush_dirty(Backends& b, int batch, std::int64_t lease_ms,
                       const std::string& dirty_key = kDirtyKey);

}  // namespace bazaar::cart

// Idempotency keys (API.md §5) for POST /orders and POST /payments/init.
//
// A key is per user (table idempotency_keys, primary key (user, key)) and
// lives 24 h. Its fingerprint is SHA-256 of method, path and raw body, so
// the same key with another body is 422 IDEMPOTENCY_KEY_REUSED.
//
// Life of a key:
//   begin()    INSERT the row with a lease (owner token, locked_until =
//              now + lease). If the row exists: other fingerprint → 422;
//              finished → the stored response, replayed byte for byte;
//              leased and the lease runs → 409 IDEMPOTENCY_IN_PROGRESS;
//              lease ran out (the process holding it was killed) → this
//              request takes it over and runs again.
//   record_in() stores the response IN THE HANDLER'S OWN TRANSACTION (the
//              order's), checking it still owns the lease. So a process
//              killed at any moment leaves either the order and its stored
//              response (a retry replays it) or neither (a retry starts
//              clean): never a second order. A request whose lease was taken
//              over meanwhile fails its record_in, and its whole transaction
//              rolls back.
//   finish()   for responses not recorded in a transaction (errors): stores
//              them when they are outcomes (2xx, 409 OUT_OF_STOCK, 404, 500
//              — Stripe replays 5xx too), or releases the key when the
//              request never really ran (400/401/415/429, and 503: the
//              dependency was down, nothing committed) so that the client
//              may correct it and retry with the same key. When that
//              release itself fails (Postgres down or frozen: the usual
//              cause of the 503), the key is remembered in this process and
//              deleted as soon as Postgres answers again (a background
//              thread every 250 ms, and the next begin() here), not left
//              leased until its lease runs out.
// Expired rows are deleted by purge_expired() (bazaar-worker) and ignored
// (taken over as new) by begin() before that.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "bazaar/pg.hpp"

namespace bazaar::idempotency {

inline constexpr std::int64_t kKeyTtlS = 24 * 3600;

struct StoredResponse {
    int status = 200;
    std::string content_type;
    std::string body;
};

// SHA-256 hex of method, path and body (length-prefixed, so parts cannot
// run into each other).
std::string fingerprint(std::string_view method, std::string_view path, std::string_view body);

// The Idempotency-Key header: required, 1..255 characters of printable ASCII
// (no control bytes, no NUL). Throws Error::validation("Idempotency-Key", ...).
std::string validate_key(const std::optional<std::string_view>& header);

// A request that holds a key (the lease).
class Scope {
  public:
    Scope(std::string user_id, std::string key, std::string owner)
        : user_id_(std::move(user_id)), key_(std::move(key)), owner_(std::move(owner)) {}
    const std::string& user_id() const { return user_id_; }
    const std::string& key() const { return key_; }
    const std::string& owner() const { return owner_; }

    // Stores the response in `w` (see the header comment). Throws
    // Error(kIdempotencyInProgress) when this request lost its lease, so the
    // caller's transaction rolls back. `order_id` (optional) is kept with it.
    void record_in(pqxx::transaction_base& w, const StoredResponse& r,
                   const std::string& order_id = {});
    bool recorded() const { return recorded_; }

  private:
    std::string user_id_, key_, owner_;
    bool recorded_ = false;
};

struct Begun {
    std::optional<StoredResponse> replay;  // set: answer with it, do not run
    std::optional<Scope> scope;            // set: run, then record or finish
};

// See the header comment. Throws Error(kIdempotencyKeyReused) (422),
// Error(kIdempotencyInProgress) (409), Error(kUnavailable).
Begun begin(Pg& pg, const std::string& user_id, const std::string& key,
            const std::string& fingerprint, std::int64_t lease_ms);

// Whether a response that was not recorded in a transaction is stored (an
// outcome) or releases the key (the request did not run): see above.
bool is_outcome(int status, std::string_view error_code);
// Stores `r`, or releases the key when it is not an outcome. Best effort: a
// failure leaves the lease to run out.
void finish(Pg& pg, Scope& scope, const StoredResponse& r, std::string_view error_code);

// Deletes keys older than 24 h; returns how many.
int purge_expired(Pg& pg, int limit);

}  // namespace bazaar::idempotency

// The HTTP side of idempotency keys (shared/include/bazaar/idempotency/):
// wraps a POST handler so that it runs at most once per user and
// Idempotency-Key. One line per route:
//
//   router.add("POST", "/api/v1/payments/init", api(idempotent(init_payment)));
//
// where `init_payment(Request&, Backends&, const Principal&, idempotency::Scope&)`
// either calls scope.record_in(w, {status, content_type, body}) inside its
// own transaction (best: the stored response commits with the effect) or
// just returns its Response (then the wrapper stores it after the handler).
// A replay answers the stored status, content type and body byte for byte,
// with `Idempotent-Replayed: true`. The wrapper authenticates (401 first),
// then requires the header (400 VALIDATION_FAILED when missing or bad).
#pragma once

#include <functional>

#include "auth_guard.hpp"
#include "bazaar/idempotency/idempotency.hpp"
#include "router.hpp"

namespace bazaar::http {

using IdempotentHandler =
    std::function<Response(Request&, Backends&, const Principal&, idempotency::Scope&)>;

Handler idempotent(IdempotentHandler h);

// The stored form of a response (what record_in() takes) and back.
idempotency::StoredResponse to_stored(const Response& r);

}  // namespace bazaar::http

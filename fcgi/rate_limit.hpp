// Rate-limit middleware: wraps a route's handler so that it spends one
// request of the caller's budget first (shared/ratelimit) and every response
// of the route, success or error, carries RateLimit-* headers; over the limit
// the handler is not run and the answer is 429 RATE_LIMITED + Retry-After.
//
//   kAuth: per client IP (credential routes: register, login, refresh, reset)
//   kApi:  per user when the request carries a valid token, else per IP
#pragma once

#include "router.hpp"

namespace bazaar::http {

enum class RateClass { kAuth, kApi };

Handler rate_limited(RateClass cls, Handler handler);

}  // namespace bazaar::http

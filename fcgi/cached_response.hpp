// Serving a GET through the read cache (shared/cache/read_cache.hpp): the
// cached value is the complete response body, so a hit is written out as
// the stored bytes with `X-Cache: HIT`, without parsing or re-serialising.
#pragma once

#include <functional>
#include <string>

#include "bazaar/backends.hpp"
#include "bazaar/cache/read_cache.hpp"
#include "http.hpp"
#include "rate_limit.hpp"

namespace bazaar::http {

// `load` returns the body of a 200 response (Response::ok(...).body).
// `check` (the route's rate limit) rides in the lookup's round trip.
Response cached(Backends& b, const cache::Entry& entry, const std::function<std::string()>& load,
                RateCheck& check);

}  // namespace bazaar::http

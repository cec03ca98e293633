#include "cached_response.hpp"

#include "bazaar/cache/invalidation_listener.hpp"

namespace bazaar::http {

Response cached(Backends& b, const cache::Entry& entry, const std::function<std::string()>& load,
                RateCheck& check) {
    auto result = cache::get_or_load(b.redis, entry, cache::process_options(b.config), load,
                                     check.piggyback());
    Response r = Response::raw_json(std::move(result.body));
    r.header("X-Cache", cache::status_name(result.status));
    // Which layer answered a hit: tests prove with it that a read really
    // came from the near cache, operators that it is warm.
    if (result.status == cache::Status::kHit)
        r.header("X-Cache-Layer", result.near ? "near" : "redis");
    return r;
}

}  // namespace bazaar::http

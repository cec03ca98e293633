#include "cached_response.hpp"

namespace bazaar::http {

cache::Options cache_options(const Config& c) {
    cache::Options o;
    o.enabled = c.cache_enabled;
    o.rebuild_wait_ms = c.cache_rebuild_wait_ms;
    return o;
}

Response cached(Backends& b, const cache::Entry& entry, const std::function<std::string()>& load,
                RateCheck& check) {
    auto result =
        cache::get_or_load(b.redis, entry, cache_options(b.config), load, check.piggyback());
    Response r = Response::raw_json(std::move(result.body));
    r.header("X-Cache", cache::status_name(result.status));
    return r;
}

}  // namespace bazaar::http

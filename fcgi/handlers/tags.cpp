#include "tags.hpp"

#include "../cached_response.hpp"
#include "../rate_limit.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/catalog_service.hpp"

namespace bazaar::http {

namespace {

Response list_tags(Request&, Backends& b, RateCheck& check) {
    cache::Entry entry{catalog::kTagsScope, "all", b.config.cache_ttl_tags_s};
    return cached(
        b, entry,
        [&] {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& t : catalog::list_tags(b.pg)) {
                auto j = catalog::to_json(t.tag);
                j["bookCount"] = t.book_count;
                items.push_back(std::move(j));
            }
            return Response::ok(items).body;
        },
        check);
}

}  // namespace

void register_tags_routes(Router& router) {
    router.add("GET", "/api/v1/tags", rate_limited_read(RateClass::kApi, list_tags));
}

}  // namespace bazaar::http

#include "favorites.hpp"

#include "../auth_guard.hpp"
#include "../rate_limit.hpp"
#include "bazaar/catalog/catalog_service.hpp"
#include "bazaar/json_input.hpp"

namespace bazaar::http {

namespace {

Response add_favorite(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());
    catalog::add_favorite(b, p.user_id, catalog::parse_id(req.param("id")));
    return Response::no_content();
}

Response remove_favorite(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());
    catalog::remove_favorite(b, p.user_id, catalog::parse_id(req.param("id")));
    return Response::no_content();
}

Response my_favorites(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    std::string key = catalog::cursor_key(b.config) + ":favorites:" + p.user_id;
    auto q = catalog::parse_page_query(req.query, key);
    auto page = catalog::list_favorites(b.pg, p.user_id, q, key);
    nlohmann::json items = nlohmann::json::array();
    for (const auto& book : page.books) items.push_back(catalog::to_json(book, q.projection));
    Response r = Response::list(items, page.next_cursor, page.limit);
    r.header("Cache-Control", "private, no-store");
    return r;
}

}  // namespace

void register_favorites_routes(Router& router) {
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("POST", "/api/v1/books/:id/favorite", api(add_favorite));
    router.add("DELETE", "/api/v1/books/:id/favorite", api(remove_favorite));
    router.add("GET", "/api/v1/me/favorites", api(my_favorites));
}

}  // namespace bazaar::http

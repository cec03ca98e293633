#include "books.hpp"

#include "../auth_guard.hpp"
#include "../cached_response.hpp"
#include "../rate_limit.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/catalog_service.hpp"

namespace bazaar::http {

namespace {

nlohmann::json books_json(const std::vector<catalog::Book>& books, const catalog::Projection& p) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& b : books) items.push_back(catalog::to_json(b, p));
    return items;
}

Response list_books(Request& req, Backends& b, RateCheck& check) {
    std::string key = catalog::cursor_key(b.config);
    auto q = catalog::parse_list_query(req.query, key);
    cache::Entry entry{catalog::kBooksScope, "list:" + q.variant(), b.config.cache_ttl_books_s};
    return cached(
        b, entry,
        [&] {
            auto page = catalog::list_books(b.pg, q, key);
            return Response::list(books_json(page.books, q.projection), page.next_cursor,
                                  page.limit)
                .body;
        },
        check);
}

Response get_book(Request& req, Backends& b, RateCheck& check) {
    auto id = catalog::parse_id(req.param("id"));
    auto p = catalog::parse_projection(req.query);
    cache::Entry entry{catalog::book_scope(id), p.variant(), b.config.cache_ttl_books_s};
    return cached(
        b, entry,
        [&] {
            auto book = catalog::find_book(b.pg, id, p);
            // A 404 is not cached: the next create must be visible at once, and
            // misses of unknown ids stay cheap (one indexed lookup).
            if (!book) throw Error::not_found("book");
            return Response::ok(catalog::to_json(*book, p)).body;
        },
        check);
}

Response recommendations(Request& req, Backends& b, RateCheck& check) {
    auto id = catalog::parse_id(req.param("id"));
    cache::Entry entry{catalog::kBooksScope, "recs:" + std::to_string(id),
                       b.config.cache_ttl_books_s};
    return cached(
        b, entry,
        [&] {
            catalog::Projection all;
            return Response::ok(books_json(catalog::recommendations(b.pg, id), all)).body;
        },
        check);
}

Response create_book(Request& req, Backends& b) {
    require_admin(req, b);
    auto in = catalog::parse_book_input(req.json(), false);
    catalog::Projection with_tags;
    with_tags.tags = true;
    return Response::ok(catalog::to_json(catalog::create_book(b, in), with_tags), 201);
}

Response update_book(Request& req, Backends& b) {
    require_admin(req, b);
    auto id = catalog::parse_id(req.param("id"));
    auto in = catalog::parse_book_input(req.json(), true);
    catalog::Projection with_tags;
    with_tags.tags = true;
    return Response::ok(catalog::to_json(catalog::update_book(b, id, in), with_tags));
}

Response delete_book(Request& req, Backends& b) {
    require_admin(req, b);
    catalog::delete_book(b, catalog::parse_id(req.param("id")));
    return Response::no_content();
}

}  // namespace

void register_books_routes(Router& router) {
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    auto read = [](ReadHandler h) { return rate_limited_read(RateClass::kApi, std::move(h)); };
    router.add("GET", "/api/v1/books", read(list_books));
    router.add("POST", "/api/v1/books", api(create_book));
    router.add("GET", "/api/v1/books/:id", read(get_book));
    router.add("PATCH", "/api/v1/books/:id", api(update_book));
    router.add("DELETE", "/api/v1/books/:id", api(delete_book));
    router.add("GET", "/api/v1/books/:id/recommendations", read(recommendations));
}

}  // namespace bazaar::http

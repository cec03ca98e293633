// Which read-cache scopes (cache/read_cache.hpp) each catalog read lives in,
// and so which scopes each write must invalidate. Kept in one place so that
// a new read or write cannot forget its side of the contract:
//
//   scope          read entries                      invalidated by
//   book:<id>      GET /books/:id (every variant)    PATCH/DELETE book, (un)favorite,
//                  and the cart's book lookup        image changes of that book,
//                                                    any committed stock change
//   books          GET /books (every page/filter),   any book create/update/delete,
//                  GET /books/:id/recommendations    (un)favorite, recommendation rebuild,
//                                                    any committed stock change
//   tags           GET /tags                         book create/delete, tag set changes
//   user:<id>      GET /auth/profile                 PATCH profile
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bazaar/redis.hpp"

namespace bazaar::catalog {

inline std::string book_scope(std::int64_t id) {
    return "book:" + std::to_string(id);
}
inline const std::string kBooksScope = "books";
inline const std::string kTagsScope = "tags";
inline std::string profile_scope(const std::string& user_id) {
    return "user:" + user_id;
}

// For other modules that change what a cached read shows: image processing
// (a book's images), the recommendation job (every recommendation list).
void invalidate_book(Redis& redis, std::int64_t book_id);
void invalidate_recommendations(Redis& redis);

// books.stock of these books changed in a transaction that has committed
// (an order taken, released or taken again: orders/stock.cpp, the one
// caller): every body that shows their stock (the book, the lists) is
// stale. Best effort (cache::invalidate_after_commit): a Redis failure is
// logged, the bodies then live until their TTL.
void stock_changed(Redis& redis, const std::vector<std::int64_t>& book_ids);

}  // namespace bazaar::catalog

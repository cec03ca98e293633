// /api/v1/books, /books/:id, /books/:id/recommendations (API.md §3): reads
// through the read cache, admin writes through shared/catalog.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_books_routes(Router& router);

}  // namespace bazaar::http

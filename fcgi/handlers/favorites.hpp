// Favorites (API.md §3): POST/DELETE /api/v1/books/:id/favorite (idempotent)
// and GET /api/v1/me/favorites. Personal, so never served from the cache.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_favorites_routes(Router& router);

}  // namespace bazaar::http

// The cart (API.md §4): GET /api/v1/cart, POST /api/v1/cart/items,
// DELETE /api/v1/cart/items/:bookId, DELETE /api/v1/cart. Thin adapters over
// shared/cart (bazaar/cart/cart_service.hpp); personal, so never cached.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_cart_routes(Router& router);

}  // namespace bazaar::http

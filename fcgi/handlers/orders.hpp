// Orders (API.md §5): POST /api/v1/orders (Idempotency-Key), GET
// /api/v1/orders, GET /api/v1/orders/:id, POST /api/v1/orders/:id/cancel.
// Thin adapters over shared/orders (bazaar/orders/order_service.hpp);
// personal, so never cached.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_orders_routes(Router& router);

}  // namespace bazaar::http

// Admin views of orders and sales (API.md §5, §7):
// PATCH /api/v1/admin/orders/:id/status {status} (manual moves such as
// SHIPPED → DELIVERED, through the one status machine) and
// GET /api/v1/admin/stats/sales. Admins only (401/403 first).
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_admin_order_routes(Router& router);

}  // namespace bazaar::http

#pragma once

#include "../router.hpp"

namespace bazaar::http {

// POST /api/v1/books/:id/images, DELETE /api/v1/books/:id/images/:imageId (API.md §3).
void register_images_routes(Router& router);

}  // namespace bazaar::http

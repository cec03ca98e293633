// GET /api/v1/tags (API.md §3): every tag with its number of live books.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_tags_routes(Router& router);

}  // namespace bazaar::http

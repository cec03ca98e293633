// The route table of bazaar-fcgi: every handler module registers here, in a
// fixed order (the order is the metrics layout shared by all processes).
#pragma once

#include "router.hpp"

namespace bazaar::http {

void register_all_routes(Router& router);

}  // namespace bazaar::http

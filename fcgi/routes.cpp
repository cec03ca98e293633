#include "routes.hpp"

#include "handlers/operations.hpp"

namespace bazaar::http {

void register_all_routes(Router& router) {
    register_operations_routes(router);
}

}  // namespace bazaar::http

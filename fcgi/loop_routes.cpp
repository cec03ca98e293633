#include "loop_routes.hpp"

#include <algorithm>

namespace bazaar::http {

const std::vector<std::string_view>& loop_routes() {
    static const std::vector<std::string_view> routes = {
        "GET /api/v1/ping",
        "GET /metrics",
        "GET /api/v1/books",
        "GET /api/v1/books/:id",
        "GET /api/v1/books/:id/recommendations",
        "GET /api/v1/tags",
    };
    return routes;
}

bool runs_on_loop(std::string_view route_name) {
    const auto& routes = loop_routes();
    return std::find(routes.begin(), routes.end(), route_name) != routes.end();
}

}  // namespace bazaar::http

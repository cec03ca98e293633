// Operator routes: /api/v1/ping, /api/v1/health and /metrics (API.md §1).
#pragma once

#include <functional>
#include <string>

#include "../router.hpp"

namespace bazaar::http {

void register_operations_routes(Router& router);

// Another module's section of /metrics (queue depths, WebSocket gauges...),
// rendered at scrape time with the scraping thread's backends. Register
// before the server starts. A section that throws is skipped, not fatal.
void add_metrics_section(std::function<std::string(Backends&)> section);

}  // namespace bazaar::http

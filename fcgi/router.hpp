// Routes by method and path template ("/api/v1/books/:id"). A path that
// matches a template under another method answers 405 with Allow; a path that
// matches nothing answers 404. Each route has a stable index, used as its
// metrics label (index 0 is reserved for unmatched requests).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/backends.hpp"
#include "http.hpp"

namespace bazaar::http {

using Handler = std::function<Response(Request&, Backends&)>;

struct RouteOptions {
    // Largest accepted body; 0 means the JSON_BODY_LIMIT of the config.
    std::size_t max_body = 0;
};

struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // ":name" marks a parameter
    Handler handler;
    RouteOptions options;
    std::size_t index = 0;
};

struct RouteMatch {
    const Route* route = nullptr;  // null: 404 or 405
    std::string allow;             // non-empty: 405, with these methods
};

class Router {
public:
    void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
    // Fills `params` with the decoded path parameters of the matched route.
    RouteMatch match(std::string_view method, std::string_view path,
                     std::vector<std::pair<std::string, std::string>>& params) const;
    // "GET /api/v1/books/:id" per route, preceded by "unmatched".
    std::vector<std::string> metric_names() const;

private:
    std::vector<Route> routes_;
};

}  // namespace bazaar::http

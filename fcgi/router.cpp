#include "router.hpp"

#include <stdexcept>

namespace bazaar::http {

namespace {
std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

bool segments_match(const Route& r, const std::vector<std::string_view>& parts,
                    std::vector<std::pair<std::string, std::string>>* params) {
    if (r.segments.size() != parts.size()) return false;
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string& seg = r.segments[i];
        if (!seg.empty() && seg[0] == ':') {
            if (params) params->emplace_back(seg.substr(1), std::string(parts[i]));
        } else if (seg != parts[i]) {
            return false;
        }
    }
    return true;
}
}  // namespace

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
    Route r;
    for (auto s : split_path(pattern)) r.segments.emplace_back(s);
    for (const auto& existing : routes_) {
        if (existing.method == method && existing.segments == r.segments)
            throw std::logic_error("duplicate route " + method + " " + pattern);
    }
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.handler = std::move(handler);
    r.options = options;
    r.index = routes_.size() + 1;
    routes_.push_back(std::move(r));
}

RouteMatch Router::match(std::string_view method, std::string_view path,
                         std::vector<std::pair<std::string, std::string>>& params) const {
    auto parts = split_path(path);
    RouteMatch m;
    // Literal segments beat parameters: "/books/popular" before "/books/:id".
    const Route* best = nullptr;
    int best_literals = -1;
    auto allow = [&](std::string_view name) {
        if (m.allow.find(name) == std::string::npos)
            m.allow += (m.allow.empty() ? "" : ", ") + std::string(name);
    };
    for (const auto& r : routes_) {
        if (!segments_match(r, parts, nullptr)) continue;
        // HEAD is answered wherever GET is (API.md): the same handler runs
        // and nginx sends the headers only.
        bool head_of_get = method == "HEAD" && r.method == "GET";
        if (r.method != method && !head_of_get) {
            allow(r.method);
            if (r.method == "GET") allow("HEAD");
            continue;
        }
        int literals = 0;
        for (const auto& s : r.segments) literals += (s.empty() || s[0] != ':') ? 1 : 0;
        if (literals > best_literals) {
            best = &r;
            best_literals = literals;
        }
    }
    if (best) {
        segments_match(*best, parts, &params);
        m.route = best;
        m.allow.clear();
    }
    return m;
}

std::vector<std::string> Router::metric_names() const {
    std::vector<std::string> names{"unmatched"};
    for (const auto& r : routes_) names.push_back(r.method + " " + r.pattern);
    return names;
}

}  // namespace bazaar::http

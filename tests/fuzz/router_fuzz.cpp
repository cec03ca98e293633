// Routing of the decoded request path (fcgi/router.cpp) over the product's
// route templates (fcgi/routes.cpp and handlers/*), with a fuzzed method and
// path (REQUEST_URI before '?', percent-decoded as bazaar-fcgi does).
//
// Properties: a match has the request's method, the same number of
// segments, its literal segments equal to the path's, one non-empty
// parameter per ":name" without '/'; a template with more literal segments
// wins; a 405 lists only methods that have a template matching the path and
// never the request's own; matching is deterministic.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_support.hpp"
#include "http.hpp"
#include "router.hpp"

using namespace bazaar;
using namespace bazaar::http;
using bazaar::fuzz::hex;

namespace {

const std::pair<const char*, const char*> kRoutes[] = {
    {"GET", "/api/v1/ping"},
    {"GET", "/api/v1/health"},
    {"GET", "/metrics"},
    {"POST", "/api/v1/auth/register"},
    {"POST", "/api/v1/auth/login"},
    {"POST", "/api/v1/auth/refresh"},
    {"POST", "/api/v1/auth/logout"},
    {"POST", "/api/v1/auth/password-reset/request"},
    {"POST", "/api/v1/auth/password-reset/confirm"},
    {"GET", "/api/v1/auth/profile"},
    {"PATCH", "/api/v1/auth/profile"},
    {"GET", "/api/v1/books"},
    {"POST", "/api/v1/books"},
    {"GET", "/api/v1/books/:id"},
    {"PATCH", "/api/v1/books/:id"},
    {"DELETE", "/api/v1/books/:id"},
    {"GET", "/api/v1/books/:id/recommendations"},
    {"POST", "/api/v1/books/:id/favorite"},
    {"DELETE", "/api/v1/books/:id/favorite"},
    {"GET", "/api/v1/books/popular"},
    {"GET", "/api/v1/me/favorites"},
    {"GET", "/api/v1/tags"},
    {"GET", "/api/v1/admin/events"},
    {"GET", "/api/v1/admin/queues"},
    {"GET", "/api/v1/admin/queues/:name/jobs"},
    {"DELETE", "/api/v1/admin/queues/:name/jobs"},
    {"GET", "/api/v1/admin/queues/:name/jobs/:id"},
    {"POST", "/api/v1/admin/queues/:name/jobs/:id/retry"},
    {"POST", "/api/v1/admin/queues/:name/retry-failed"},
    {"POST", "/api/v1/admin/queues/:name/pause"},
    {"POST", "/api/v1/admin/queues/:name/resume"},
};
const char* const kMethods[] = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"};

const Router& router() {
    static const Router r = [] {
        Router r;
        for (const auto& [method, pattern] : kRoutes)
            r.add(method, pattern, [](Request&, Backends&) { return Response::no_content(); });
        return r;
    }();
    return r;
}

std::vector<std::string> segments(std::string_view path) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : path) {
        if (c == '/') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

bool template_matches(const std::vector<std::string>& tmpl, const std::vector<std::string>& parts) {
    if (tmpl.size() != parts.size()) return false;
    for (std::size_t i = 0; i < tmpl.size(); ++i)
        if (tmpl[i][0] != ':' && tmpl[i] != parts[i]) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    std::string method =
        in.ConsumeBool()
            ? kMethods[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kMethods) - 1)]
            : in.ConsumeRandomLengthString(10);
    const std::string raw = in.ConsumeRemainingBytesAsString();
    auto path = percent_decode(raw, false);
    if (!path) return 0;
    const std::string ctx = method + " " + hex(*path);

    std::vector<std::pair<std::string, std::string>> params;
    RouteMatch m = router().match(method, *path, params);
    const auto parts = segments(*path);

    // HEAD is answered by the GET route (API.md), and only by it.
    const std::string effective = method == "HEAD" ? "GET" : method;
    std::vector<std::string> matching_methods;
    int best_literals = -1;
    for (const auto& [rm, pattern] : kRoutes) {
        auto tmpl = segments(pattern);
        if (!template_matches(tmpl, parts)) continue;
        if (rm != effective) {
            matching_methods.push_back(rm);
            continue;
        }
        int literals = 0;
        for (const auto& s : tmpl) literals += s[0] != ':';
        best_literals = std::max(best_literals, literals);
    }

    if (m.route) {
        FUZZ_CHECK(m.route->method == effective && m.allow.empty(), ctx);
        FUZZ_CHECK(template_matches(m.route->segments, parts), ctx);
        int literals = 0, names = 0;
        for (const auto& s : m.route->segments) (s[0] == ':' ? names : literals) += 1;
        FUZZ_CHECK(literals == best_literals, ctx);
        FUZZ_CHECK(params.size() == static_cast<std::size_t>(names), ctx);
        for (const auto& [k, v] : params)
            FUZZ_CHECK(!v.empty() && v.find('/') == std::string::npos, ctx);
    } else {
        FUZZ_CHECK(best_literals < 0 && params.empty(), ctx);
        FUZZ_CHECK(m.allow.empty() == matching_methods.empty(), ctx);
        for (const auto& mm : matching_methods)
            FUZZ_CHECK(m.allow.find(mm) != std::string::npos, ctx);
    }
    std::vector<std::pair<std::string, std::string>> params2;
    RouteMatch m2 = router().match(method, *path, params2);
    FUZZ_CHECK(m2.route == m.route && m2.allow == m.allow && params2 == params, ctx);
    return 0;
}

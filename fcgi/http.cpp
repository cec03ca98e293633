#include "http.hpp"

#include <cstring>

#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/text/strings.hpp"

namespace bazaar::http {

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

using text::iequals;
}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            // %00 too: a NUL ends the value for libpq and every C string
            // below us, so what was checked would not be what is used.
            if (hi < 0 || lo < 0 || hi * 16 + lo == 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '\0') {
            return std::nullopt;  // a raw NUL is refused like an escaped one
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view part = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        if (part.empty()) continue;
        auto eq = part.find('=');
        auto key = percent_decode(part.substr(0, eq), true);
        auto value = percent_decode(
            eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1), true);
        if (!key || !value) return std::nullopt;
        out.emplace_back(std::move(*key), std::move(*value));
    }
    return out;
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        auto semi = header.find(';');
        std::string_view part = header.substr(0, semi);
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        auto eq = part.find('=');
        if (eq == std::string_view::npos) continue;
        if (part.substr(0, eq) == name) {
            std::string_view v = part.substr(eq + 1);
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return std::string(v);
        }
    }
    return std::nullopt;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
    // nginx passes header "Foo-Bar" as the param HTTP_FOO_BAR.
    char key[128] = "HTTP_";
    if (name.size() + 6 > sizeof key) return std::nullopt;
    size_t n = 5;
    for (char c : name) {
        if (c == '-') c = '_';
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        key[n++] = c;
    }
    key[n++] = '=';
    if (!env) return std::nullopt;
    for (char** e = env; *e; ++e) {
        if (std::strncmp(*e, key, n) == 0) return std::string_view(*e + n);
    }
    if (iequals(name, "content-type") && !content_type.empty()) return content_type;
    return std::nullopt;
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
    for (const auto& [k, v] : query)
        if (k == name) return std::string_view(v);
    return std::nullopt;
}

std::string_view Request::param(std::string_view name) const {
    for (const auto& [k, v] : path_params)
        if (k == name) return v;
    return {};
}

std::optional<std::string> Request::cookie(std::string_view name) const {
    auto h = header("Cookie");
    if (!h) return std::nullopt;
    return cookie_value(*h, name);
}

const nlohmann::json& Request::json() {
    if (json_) return *json_;
    std::string_view ct = content_type;
    auto semi = ct.find(';');
    std::string_view mime = ct.substr(0, semi);
    while (!mime.empty() && mime.back() == ' ') mime.remove_suffix(1);
    if (!iequals(mime, "application/json")) {
        throw Error(ErrorCode::kUnsupportedMediaType,
                    "request body must be JSON (Content-Type: application/json)");
    }
    // A key twice is 400 VALIDATION_FAILED naming it (json_input.hpp).
    auto parsed = parse_json_unique_keys(body);
    if (!parsed) throw Error(ErrorCode::kMalformedJson, "request body is not valid JSON");
    if (!parsed->is_object()) throw Error(ErrorCode::kMalformedJson, "request body must be a JSON object");
    json_ = std::move(*parsed);
    return *json_;
}

Response Response::ok(const nlohmann::json& data, int status) {
    Response r;
    r.status = status;
    r.body = R"({"success":true,"data":)" + data.dump() + "}";
    return r;
}

Response Response::list(const nlohmann::json& items, const std::optional<std::string>& next_cursor,
                        int limit) {
    nlohmann::json meta = {{"nextCursor", next_cursor ? nlohmann::json(*next_cursor) : nullptr},
                           {"limit", limit}};
    Response r;
    r.body = R"({"success":true,"data":)" + items.dump() + R"(,"meta":)" + meta.dump() + "}";
    return r;
}

Response Response::no_content() {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
}

Response Response::raw_json(std::string body, int status) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

Response Response::text(std::string body, std::string content_type, int status) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = std::move(content_type);
    return r;
}

const char* status_reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 304: return "Not Modified";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 409: return "Conflict";
        case 413: return "Payload Too Large";
        case 415: return "Unsupported Media Type";
        case 422: return "Unprocessable Entity";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Unknown";
    }
}

}  // namespace bazaar::http

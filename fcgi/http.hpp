// The HTTP request and response as handlers see them, independent of
// FastCGI: a handler reads a Request and returns a Response or throws
// bazaar::Error. Parsing (percent-decoding, query strings, cookies, JSON
// bodies with their content-type and size rules) lives here, once.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bazaar::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Decodes %XX escapes; with `plus_is_space`, '+' becomes ' ' (query strings).
// Returns std::nullopt for a malformed escape or an escaped NUL (%00).
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);
// "a=1&b=x%20y" → {{"a","1"},{"b","x y"}}. Malformed escapes → nullopt.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view q);
// "a=1; b=2" → value of `name`, if present.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

class Request {
  public:
    std::string method;
    std::string path;  // decoded, without the query string
    std::vector<std::pair<std::string, std::string>> query;
    std::vector<std::pair<std::string, std::string>> path_params;
    std::string body;
    std::string content_type;
    std::string request_id;
    std::string client_ip;
    // FastCGI params (HTTP_* headers and CGI variables), owned by libfcgi for
    // the duration of the request.
    char** env = nullptr;

    // The "not before" stamp of the token's user (auth/session_stamp.hpp),
    // fetched in the request's rate-limit/cache round trip (rate_limit.cpp)
    // so that require_user needs no round trip of its own (auth_guard.cpp).
    struct SessionStamp {
        std::string user_id;  // whose stamp the round trip fetches; empty: none
        bool loaded = false;  // the reply arrived (Redis down: loaded, no stamp)
        std::optional<std::int64_t> not_before_ms;
        // Set when require_user ran before the round trip (cached reads): the
        // token's issue time, checked when the reply arrives.
        std::optional<std::int64_t> deferred_issued_at_ms;
    } session_stamp;

    // A request header by its HTTP name ("Authorization", "Idempotency-Key").
    std::optional<std::string_view> header(std::string_view name) const;
    std::optional<std::string_view> query_param(std::string_view name) const;
    // A path parameter declared in the route (":id" → param("id")).
    std::string_view param(std::string_view name) const;
    std::optional<std::string> cookie(std::string_view name) const;

    // The body as a JSON object. 415 when the content type is not JSON,
    // 400 MALFORMED_JSON when it does not parse or is not an object.
    const nlohmann::json& json();

  private:
    std::optional<nlohmann::json> json_;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json; charset=utf-8";
    Headers headers;
    std::string body;

    // {"success":true,"data":...}
    static Response ok(const nlohmann::json& data, int status = 200);
    // {"success":true,"data":[...],"meta":{"nextCursor":...,"limit":n}}
    static Response list(const nlohmann::json& items, const std::optional<std::string>& next_cursor,
                         int limit);
    static Response no_content();
    // A body already serialised (a cache hit): written as is.
    static Response raw_json(std::string body, int status = 200);
    static Response text(std::string body, std::string content_type, int status = 200);

    Response& header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

const char* status_reason(int status);

}  // namespace bazaar::http

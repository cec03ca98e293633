// Request headers as bazaar-fcgi reads them (fcgi/http.cpp): the FastCGI
// params nginx sends (HTTP_* entries), the Cookie header, and the
// Content-Type + body pair behind Request::json().
//
// Input layout (FuzzedDataProvider): a header name, a list of env entries,
// a cookie name, a Cookie header, a Content-Type, then the body.
//
// Properties: header() returns the value of the first HTTP_<NAME>= entry,
// for any name length (a fixed buffer builds the key); cookie_value() returns
// a piece of the header and finds every cookie of a header built from
// well-formed pairs; json() yields an object exactly when the media type is
// application/json and the body is a JSON object, and otherwise refuses with
// 415 or 400 MALFORMED_JSON.
#include <fuzzer/FuzzedDataProvider.h>

#include <vector>

#include "fuzz_support.hpp"
#include "http.hpp"

using bazaar::fuzz::hex;
using namespace bazaar;
using namespace bazaar::http;

namespace {

std::string param_key(std::string_view name) {
    std::string key = "HTTP_";
    for (char c : name) {
        if (c == '-') c = '_';
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        key += c;
    }
    return key + "=";
}

bool is_token_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// libfcgi params are C strings, and header names come from our code: no NULs.
std::string without_nul(std::string s) {
    std::erase(s, '\0');
    return s;
}

void check_header_lookup(FuzzedDataProvider& in) {
    std::string name = without_nul(in.ConsumeRandomLengthString(200));
    std::vector<std::string> entries;
    const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(0, 6);
    for (std::size_t i = 0; i < n; ++i) {
        std::string e = without_nul(in.ConsumeRandomLengthString(200));
        // Half the time, an entry that really carries `name`.
        if (in.ConsumeBool()) e = param_key(name) + e;
        entries.push_back(std::move(e));
    }
    std::vector<char*> env;
    for (auto& e : entries) env.push_back(e.data());
    env.push_back(nullptr);

    Request req;
    req.env = env.data();
    auto got = req.header(name);
    const std::string key = param_key(name);
    std::optional<std::string> expected;
    // Names the API uses fit easily; longer ones are never looked up.
    if (name.size() <= 122) {
        for (const auto& e : entries) {
            if (e.compare(0, key.size(), key) == 0) {
                expected = e.substr(key.size());
                break;
            }
        }
    }
    FUZZ_CHECK(got.has_value() == expected.has_value(), "name " + hex(name));
    if (got) FUZZ_CHECK(std::string(*got) == *expected, "name " + hex(name));
}

void check_cookies(FuzzedDataProvider& in) {
    std::string name = in.ConsumeRandomLengthString(40);
    std::string header = in.ConsumeRandomLengthString(400);
    auto v = cookie_value(header, name);
    if (v) FUZZ_CHECK(header.find(*v) != std::string::npos, hex(header));

    // A header built from well-formed pairs: each cookie is found, first one wins.
    std::vector<std::pair<std::string, std::string>> pairs;
    std::string built;
    const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(1, 5);
    for (std::size_t i = 0; i < n; ++i) {
        std::string k, val;
        for (char c : in.ConsumeRandomLengthString(12))
            if (is_token_char(c)) k += c;
        for (char c : in.ConsumeRandomLengthString(40))
            if (c != ';' && c != '"' && c != '\0') val += c;
        if (k.empty()) k = "k" + std::to_string(i);
        if (!built.empty()) built += in.ConsumeBool() ? "; " : ";";
        built += k + "=" + val;
        pairs.emplace_back(k, val);
    }
    for (const auto& [k, val] : pairs) {
        std::optional<std::string> first;
        for (const auto& [k2, v2] : pairs)
            if (k2 == k) {
                first = v2;
                break;
            }
        auto got = cookie_value(built, k);
        FUZZ_CHECK(got == first, "header " + built + " cookie " + k);
    }
}

void check_json_body(FuzzedDataProvider& in) {
    Request req;
    req.content_type = in.ConsumeRandomLengthString(60);
    req.body = in.ConsumeRemainingBytesAsString();
    std::string mime = req.content_type.substr(0, req.content_type.find(';'));
    while (!mime.empty() && mime.back() == ' ') mime.pop_back();
    const bool is_json_type = ascii_lower(mime) == "application/json";
    auto parsed = nlohmann::json::parse(req.body, nullptr, false);
    try {
        const auto& j = req.json();
        FUZZ_CHECK(is_json_type && j.is_object() && j == parsed, hex(req.body));
        FUZZ_CHECK(&req.json() == &j, "json() parses once");
    } catch (const Error& e) {
        fuzz::check_error_body(e);
        if (!is_json_type) {
            FUZZ_CHECK(e.code() == ErrorCode::kUnsupportedMediaType, req.content_type);
        } else {
            FUZZ_CHECK(e.code() == ErrorCode::kMalformedJson, hex(req.body));
            FUZZ_CHECK(parsed.is_discarded() || !parsed.is_object(), hex(req.body));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    check_header_lookup(in);
    check_cookies(in);
    check_json_body(in);
    return 0;
}

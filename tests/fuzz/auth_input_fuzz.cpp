// What the auth routes read from clients (API.md §2): the JSON bodies of
// register/login/refresh/password-reset/profile (Request::json + JsonInput
// with each route's field rules), the email/username/password rules
// (shared/src/users), the refresh token's shape (shared/src/auth/
// refresh_tokens.cpp) and the Bearer access token (shared/src/auth/jwt.cpp).
//
// Properties: refusals are 4xx errors that render; an accepted email is
// normalised (lower-case ASCII, idempotent, one '@'); a refresh token is
// accepted only in its exact shape "<uuid>.<64 hex>"; a JWT verifies only
// with the right secret, before exp, and gives back what was signed.
#include <fuzzer/FuzzedDataProvider.h>

#include <ctime>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/auth/refresh_tokens.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/mail/mime.hpp"
#include "bazaar/users/user_service.hpp"
#include "bazaar/uuid.hpp"
#include "fuzz_support.hpp"
#include "http.hpp"

using namespace bazaar;
using bazaar::fuzz::hex;

namespace {

const std::string kSecret = "fuzz-secret-0123456789-0123456789-abcdef";

void check_body(std::uint8_t route, const std::string& bytes) {
    http::Request req;
    req.content_type = "application/json; charset=utf-8";
    req.body = bytes;
    fuzz::accepts([&] {
        const auto& j = req.json();
        switch (route % 4) {
            case 0: {  // register
                JsonInput in(j, {"email", "username", "password"});
                auto email = in.string("email", {.min = 3, .max = 254});
                auto username = in.string("username", {.min = 1, .max = 64});
                auto password = in.string("password", {.min = 8, .max = 128});
                in.finish();
                FUZZ_CHECK(email && username && password, hex(bytes));
                auto e = users::normalize_email(*email);
                users::validate_username(*username);
                users::validate_password(*password);
                FUZZ_CHECK(utf8_length(*password) >= 8, hex(bytes));
                FUZZ_CHECK(!e.empty(), hex(bytes));
                // Registration's rule: what it accepts, the mailer can send to.
                auto d = users::deliverable_email(*email);
                FUZZ_CHECK(mail::mime::is_safe_address(d) && d == e, hex(bytes));
                break;
            }
            case 1: {  // login
                JsonInput in(j, {"email", "password"});
                auto email = in.string("email", {.min = 1, .max = 254});
                auto password = in.string("password", {.min = 1, .max = 1024});
                in.finish();
                FUZZ_CHECK(email && password, hex(bytes));
                break;
            }
            case 2: {  // refresh / password-reset confirm
                JsonInput in(j, {"refreshToken", "token", "newPassword"});
                auto token = in.string("refreshToken", {.min = 1, .max = 256, .required = false});
                auto reset = in.string("token", {.min = 1, .max = 256, .required = false});
                auto password = in.string("newPassword", {.min = 8, .max = 128, .required = false});
                in.finish();
                if (token) auth::refresh_token_user(*token);
                break;
            }
            default: {  // profile
                JsonInput in(j, {"username"});
                auto username = in.string("username", {.min = 1, .max = 64});
                in.finish();
                users::validate_username(*username);
                for (unsigned char c : *username) FUZZ_CHECK(c >= 0x20, hex(bytes));
                break;
            }
        }
    });
}

void check_email(const std::string& s) {
    std::string e;
    if (!fuzz::accepts([&] { e = users::normalize_email(s); })) return;
    FUZZ_CHECK(e.size() == s.size() && e.size() >= 3 && e.size() <= 254, hex(s));
    FUZZ_CHECK(std::count(e.begin(), e.end(), '@') == 1 && e.front() != '@', hex(s));
    for (char c : e) FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), hex(s));
    FUZZ_CHECK(users::normalize_email(e) == e, hex(s));
}

bool lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

void check_refresh_token(const std::string& s) {
    auto user = auth::refresh_token_user(s);
    if (!user) return;
    FUZZ_CHECK(s.size() == 36 + 1 + 64 && s.compare(0, 37, *user + ".") == 0, hex(s));
    FUZZ_CHECK(lower_hex(s.substr(37)), hex(s));
    FUZZ_CHECK(users::looks_like_uuid(*user), hex(s));
}

void check_access_token(FuzzedDataProvider& in, const std::string& token) {
    // cpp-jwt also checks exp against the wall clock, so "now" must be now.
    const std::int64_t now = std::time(nullptr);
    auth::AccessClaims c;
    if (fuzz::accepts([&] { c = auth::verify_access_token(token, kSecret, now); })) {
        FUZZ_CHECK(!c.user_id.empty() && (c.role == "user" || c.role == "admin"), hex(token));
        FUZZ_CHECK(c.expires_at > now, hex(token));
        // Only the right secret makes a token valid.
        FUZZ_CHECK(!fuzz::accepts([&] { auth::verify_access_token(token, kSecret + "x", now); }),
                   hex(token));
    }
    // Sign and verify round trip, with fuzzed claims.
    // Tokens are signed for user ids from Postgres: printable ASCII here.
    // Half the time a well-formed UUID (users' ids are), so the round trip is
    // exercised, not only the refusal.
    std::string sub;
    if (in.ConsumeBool()) {
        static const char* kHexDigits = "0123456789abcdef";
        for (int i = 0; i < 32; ++i) {
            if (i == 8 || i == 12 || i == 16 || i == 20) sub += '-';
            sub += kHexDigits[in.ConsumeIntegralInRange<int>(0, 15)];
        }
    } else {
        for (char c : in.ConsumeRandomLengthString(64))
            if (c >= 0x20 && c < 0x7f) sub += c;
    }
    std::string role = in.ConsumeBool() ? "user" : "admin";
    int ttl = in.ConsumeIntegralInRange<int>(60, 86400);
    std::string signed_token;
    if (!fuzz::accepts(
            [&] { signed_token = auth::sign_access_token(sub, role, kSecret, now, ttl); }))
        return;
    auth::AccessClaims back;
    bool ok = fuzz::accepts([&] { back = auth::verify_access_token(signed_token, kSecret, now); });
    // A sub that is not a canonical (lower-case) UUID is refused.
    if (!is_canonical_uuid(sub)) {
        FUZZ_CHECK(!ok, "non-UUID sub accepted: " + hex(sub));
        return;
    }
    FUZZ_CHECK(ok, "signed token refused, sub " + hex(sub));
    FUZZ_CHECK(back.user_id == sub && back.role == role && back.expires_at == now + ttl &&
                   back.issued_at == now,
               hex(sub));
    FUZZ_CHECK(!fuzz::accepts([&] { auth::verify_access_token(signed_token, kSecret, now + ttl); }),
               "expired token accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const auto route = in.ConsumeIntegral<std::uint8_t>();
    const std::string a = in.ConsumeRandomLengthString(300);
    const std::string b = in.ConsumeRandomLengthString(300);
    check_email(a);
    check_refresh_token(a);
    check_access_token(in, b);
    check_body(route, in.ConsumeRemainingBytesAsString());
    return 0;
}

// The only translation unit that includes cpp-jwt (see jwt.hpp).
#include "bazaar/auth/jwt.hpp"

#include <jwt/jwt.hpp>

#include "bazaar/error.hpp"
#include "bazaar/uuid.hpp"

namespace bazaar::auth {

namespace {
Error unauthenticated() {
    return Error(ErrorCode::kUnauthenticated, "the access token is missing, invalid or expired");
}

// A JWS compact token is base64url segments joined by dots. cpp-jwt 1.4 looks
// base64 characters up in a table indexed by a plain char, so a byte >= 0x80
// reads before the table (found by tests/fuzz, auth_input): such bytes must
// never reach it.
bool jws_compact_charset(std::string_view token) {
    for (char c : token) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}
}  // namespace

std::string sign_access_token_ms(std::string_view user_id, std::string_view role,
                                 const std::string& key, std::int64_t now_ms, int ttl_s) {
    using namespace jwt::params;
    std::int64_t now_s = now_ms / 1000;
    jwt::jwt_object obj{algorithm("HS256"), secret(key)};
    obj.add_claim("sub", std::string(user_id))
        .add_claim("role", std::string(role))
        .add_claim("iat", now_s)
        .add_claim("iat_ms", now_ms)
        .add_claim("exp", now_s + ttl_s);
    return obj.signature();
}

std::string sign_access_token(std::string_view user_id, std::string_view role,
                              const std::string& key, std::int64_t now_s, int ttl_s) {
    return sign_access_token_ms(user_id, role, key, now_s * 1000, ttl_s);
}

AccessClaims verify_access_token(std::string_view token, const std::string& key,
                                 std::int64_t now_s) {
    using namespace jwt::params;
    // cpp-jwt checks exp against the wall clock itself; it is checked again
    // below against `now_s` so tests can move time and so a token without
    // exp (which cpp-jwt would accept) is refused.
    if (!jws_compact_charset(token)) throw unauthenticated();
    std::error_code ec;
    jwt::jwt_object decoded;
    try {
        decoded = jwt::decode(jwt::string_view(token.data(), token.size()), algorithms({"HS256"}),
                              ec, secret(key), verify(true));
    } catch (const std::exception&) {
        throw unauthenticated();
    }
    if (ec) throw unauthenticated();
    if (decoded.header().algo() != jwt::algorithm::HS256) throw unauthenticated();
    const auto& payload = decoded.payload().create_json_obj();
    AccessClaims c;
    auto sub = payload.find("sub");
    auto role = payload.find("role");
    auto exp = payload.find("exp");
    auto iat = payload.find("iat");
    // Every token this server signs has an integer iat: one without it has
    // no place in the not-before comparison (session_stamp.hpp).
    if (sub == payload.end() || !sub->is_string() || role == payload.end() || !role->is_string() ||
        exp == payload.end() || !exp->is_number_integer() || iat == payload.end() ||
        !iat->is_number_integer()) {
        throw unauthenticated();
    }
    c.user_id = sub->get<std::string>();
    c.role = role->get<std::string>();
    c.expires_at = exp->get<std::int64_t>();
    c.issued_at = iat->get<std::int64_t>();
    auto iat_ms = payload.find("iat_ms");
    c.issued_at_ms = iat_ms != payload.end() && iat_ms->is_number_integer()
                         ? iat_ms->get<std::int64_t>()
                         : c.issued_at * 1000;
    // The subject keys Redis state (stamp, rate limit, cache scope) as a
    // string: only the canonical form the server issues is accepted.
    if (!is_canonical_uuid(c.user_id) || (c.role != "user" && c.role != "admin"))
        throw unauthenticated();
    if (c.expires_at <= now_s) throw unauthenticated();
    // A token issued in the future is impossible for this server (issue 18):
    // it would also outlive any logout, whose not-before stamp it beats.
    // Clocks of the hosts may differ by kMaxClockSkewS at most.
    if (c.issued_at > now_s + kMaxClockSkewS || c.issued_at_ms > (now_s + kMaxClockSkewS) * 1000)
        throw unauthenticated();
    return c;
}

}  // namespace bazaar::auth

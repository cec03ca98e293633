#include "auth_guard.hpp"

#include "bazaar/auth/jwt.hpp"
#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/error.hpp"
#include "bazaar/time.hpp"

namespace bazaar::http {

namespace {

// The Bearer header wins over the cookie: an API client that sends both
// means the header.
std::optional<std::string> presented_token(Request& req) {
    if (auto h = req.header("Authorization")) {
        std::string_view v = *h;
        constexpr std::string_view kBearer = "Bearer ";
        if (v.size() > kBearer.size() && (v.substr(0, 7) == kBearer || v.substr(0, 7) == "bearer "))
            return std::string(v.substr(kBearer.size()));
        throw Error(ErrorCode::kUnauthenticated,
                    "the Authorization header must be 'Bearer <token>'");
    }
    if (auto c = req.cookie("accessToken"); c && !c->empty()) return c;
    return std::nullopt;
}

Principal verify(Request& req, const std::string& token, Backends& b) {
    auto claims = auth::verify_access_token(token, b.config.jwt_secret, now_ms() / 1000);
    auto& st = req.session_stamp;
    if (st.user_id != claims.user_id)
        auth::require_current_session(b.redis, claims);  // nothing fetched it: one GET
    else if (st.loaded)
        auth::check_not_before(claims, st.not_before_ms);
    else
        st.deferred_issued_at_ms = claims.issued_at_ms;  // checked when the reply arrives
    return Principal{std::move(claims.user_id), std::move(claims.role)};
}

}  // namespace

std::optional<auth::AccessClaims> presented_claims(Request& req, Backends& b) {
    try {
        auto token = presented_token(req);
        if (!token) return std::nullopt;
        return auth::verify_access_token(*token, b.config.jwt_secret, now_ms() / 1000);
    } catch (const Error&) {
        return std::nullopt;
    }
}

Principal require_user(Request& req, Backends& b) {
    auto token = presented_token(req);
    if (!token) throw Error(ErrorCode::kUnauthenticated, "authentication required");
    return verify(req, *token, b);
}

Principal require_admin(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    if (!p.is_admin()) throw Error(ErrorCode::kForbidden, "this action needs the admin role");
    return p;
}

std::optional<Principal> optional_user(Request& req, Backends& b) {
    auto token = presented_token(req);
    if (!token) return std::nullopt;
    return verify(req, *token, b);
}

}  // namespace bazaar::http

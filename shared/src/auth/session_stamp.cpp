#include "bazaar/auth/session_stamp.hpp"

#include <charconv>

#include "bazaar/auth/refresh_tokens.hpp"
#include "bazaar/error.hpp"
#include "bazaar/time.hpp"

namespace bazaar::auth {

std::string not_before_key(std::string_view user_id) {
    return "{rt:" + std::string(user_id) + "}:nbf";
}

RedisArgs not_before_command(std::string_view user_id) {
    return RedisArgs{"GET", not_before_key(user_id)};
}

std::optional<std::int64_t> stamp_from_reply(const Reply& reply) {
    if (reply.is_nil() || !reply.is_string()) return std::nullopt;
    std::string_view s = reply.str();
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

bool issued_after_stamp(std::int64_t issued_at_ms, std::optional<std::int64_t> not_before_ms) {
    return !not_before_ms || issued_at_ms > *not_before_ms;
}

void check_not_before(const AccessClaims& claims, std::optional<std::int64_t> not_before_ms) {
    if (!issued_after_stamp(claims.issued_at_ms, not_before_ms))
        throw Error(ErrorCode::kUnauthenticated, "the session has ended; sign in again");
}

void require_current_session(Redis& redis, const AccessClaims& claims) {
    std::optional<std::int64_t> stamp;
    try {
        stamp = stamp_from_reply(redis.command(not_before_command(claims.user_id)));
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kUnavailable) throw;
        return;  // fail open, see the header
    }
    check_not_before(claims, stamp);
}

void revoke_sessions(Redis& redis, std::string_view user_id, int access_ttl_s) {
    redis.eval_script("auth_revoke_sessions",
                      {refresh_generation_key(user_id), not_before_key(user_id)},
                      {std::to_string(now_ms()), std::to_string(access_ttl_s)});
}

}  // namespace bazaar::auth

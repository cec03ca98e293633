#include "bazaar/auth/session_stamp.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include "bazaar/auth/refresh_tokens.hpp"
#include "bazaar/error.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/key_tags.hpp"
#include "bazaar/replication.hpp"
#include "bazaar/time.hpp"

namespace bazaar::auth {

std::string not_before_key(std::string_view user_id) {
    return key_tags::user(user_id) + ":nbf";
}

RedisArgs not_before_command(std::string_view user_id) {
    return RedisArgs{"GET", not_before_key(user_id)};
}

std::optional<std::int64_t> parse_stamp(std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<std::int64_t> stamp_from_reply(const Reply& reply) {
    if (reply.is_nil() || !reply.is_string()) return std::nullopt;
    return parse_stamp(reply.str());
}

std::optional<std::int64_t> revoked_not_before(std::string_view payload) {
    // Event frames start with {"event": (live::frame); only a control
    // message is parsed.
    if (payload.find("\"control\"") == std::string_view::npos) return std::nullopt;
    auto j = nlohmann::json::parse(payload.begin(), payload.end(), nullptr, false);
    if (!j.is_object() || j.value("control", nlohmann::json()) != "session.revoked")
        return std::nullopt;
    auto nbf = j.find("notBefore");
    if (nbf == j.end() || !nbf->is_number_integer()) return std::nullopt;
    return nbf->get<std::int64_t>();
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
                      {std::to_string(now_ms()), std::to_string(access_ttl_s),
                       live::channel(live::user_room(user_id))});
    // Lost to a failover, revoked tokens would be valid again. Also covers
    // the writes just before it on the user's node (a spent reset token).
    replication::confirm(redis, not_before_key(user_id), "session revocation");
}

}  // namespace bazaar::auth

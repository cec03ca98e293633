// Access tokens die with their sessions: the per-user "not before" stamp.
//
// Access tokens are JWTs checked by signature, so without state a logout or a
// password reset would leave an access token valid until its exp (15 min).
// Revoking a user's sessions (revoke_sessions: logout, password reset,
// refresh-token theft) therefore also stores the revocation time in Redis
// under {u:<userId>}:nbf (key layout in lua/auth_revoke_sessions.lua), and
// every authenticated request compares it with the token's issue time:
//
//     token accepted  <=>  no stamp, or token.issued_at_ms > stamp
//
// Tokens carry their issue time in milliseconds (claim `iat_ms`, next to
// the standard `iat` in seconds) so that a login right after a logout, in
// the same second, is not caught by its own logout's stamp.
//
// Cost: the stamp is one GET that rides in the round trip the request makes
// anyway (fcgi: the rate-limit/cache pipeline, fcgi/rate_limit.cpp), so reads
// pay no extra round trip. If Redis is down the stamp is unknown and the
// token is accepted (like the rate limiter, fail open): revocations need
// Redis themselves, so none can have happened during the outage.
//
// bazaar-ws reads the stamp with its own async connection (not_before_key +
// parse_stamp + issued_after_stamp) when a socket's room is subscribed and
// on re-auth. Sockets already open learn of a revocation from the control
// message the revoking script publishes on the user's live channel
// (revocation_message, same script as the stamp, so a socket subscribed
// before the script ran gets the message and one subscribed after reads the
// stamp); bazaar-ws closes them with 4001 and never forwards the message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::auth {

// "{u:<userId>}:nbf": the user's tag (key_tags.hpp), shared with the
// refresh tokens and the live channel the revocation publishes on.
std::string not_before_key(std::string_view user_id);

// The GET to pipeline with a request's other commands.
RedisArgs not_before_command(std::string_view user_id);

// The stamp in a reply of not_before_command: nullopt when none is set (or
// the value is not a number, which only a hand edit can make).
std::optional<std::int64_t> stamp_from_reply(const Reply& reply);
// The same for the stored text of the stamp.
std::optional<std::int64_t> parse_stamp(std::string_view text);

// The control message on the user's live channel when sessions are revoked:
//   {"control":"session.revoked","notBefore":<unix ms>}
// (built by lua/auth_revoke_sessions.lua and auth_refresh_rotate.lua).
// revoked_not_before returns the stamp of such a message, nullopt for any
// other payload (an event frame).
std::optional<std::int64_t> revoked_not_before(std::string_view payload);

// The rule itself (see the header comment).
bool issued_after_stamp(std::int64_t issued_at_ms, std::optional<std::int64_t> not_before_ms);

// Throws Error(kUnauthenticated) when `claims` were issued at or before the
// user's stamp.
void check_not_before(const AccessClaims& claims, std::optional<std::int64_t> not_before_ms);

// GET + check_not_before in one call, for a process with no round trip to
// fold the GET into (bazaar-ws). Redis down: accepted (see above).
void require_current_session(Redis& redis, const AccessClaims& claims);

// Revokes every refresh token of the user and every access token issued
// until now (one script). `access_ttl_s` (JWT_TTL_S) bounds the stamp's
// life. Throws Error(kUnavailable) when Redis is down.
void revoke_sessions(Redis& redis, std::string_view user_id, int access_ttl_s);

}  // namespace bazaar::auth

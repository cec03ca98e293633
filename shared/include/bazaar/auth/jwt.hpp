// Access tokens: JWT HS256 (API.md §2) with claims sub, role, iat, exp.
//
// This header deliberately includes nothing of cpp-jwt: the library costs
// ~10 s of compile time per translation unit, so it lives in jwt.cpp alone.
// Verification accepts HS256 only: `alg: none`, another algorithm, a bad
// signature, a missing or past `exp`, a missing `sub`/`role`, a `sub` that
// is not a canonical (lower-case) UUID, or anything malformed all fail the
// same way (Error kUnauthenticated), so a client learns nothing about why.
// Besides `iat` (seconds) tokens carry `iat_ms`, the issue time in
// milliseconds that the per-user "not before" stamp is compared with
// (session_stamp.hpp); a token without it counts as issued at iat * 1000.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bazaar::auth {

struct AccessClaims {
    std::string user_id;            // sub
    std::string role;               // "user" | "admin"
    std::int64_t issued_at = 0;     // iat, unix seconds
    std::int64_t issued_at_ms = 0;  // iat_ms, unix milliseconds
    std::int64_t expires_at = 0;    // exp, unix seconds
};

// Signs a token for `user_id` valid `ttl_s` seconds from `now_ms` (unix
// milliseconds).
std::string sign_access_token_ms(std::string_view user_id, std::string_view role,
                                 const std::string& secret, std::int64_t now_ms, int ttl_s);
// Same with a time in whole seconds (tests).
std::string sign_access_token(std::string_view user_id, std::string_view role,
                              const std::string& secret, std::int64_t now_s, int ttl_s);

// How far in the future a token's iat (and iat_ms) may be: the clock skew
// between the hosts that sign and verify. Beyond it the token is refused.
inline constexpr std::int64_t kMaxClockSkewS = 60;

// Returns the claims of a valid token; throws Error(kUnauthenticated)
// otherwise. `now_s` is compared with exp (no leeway: 15 minutes are plenty)
// and with iat, which is required and may not be after now_s + kMaxClockSkewS.
AccessClaims verify_access_token(std::string_view token, const std::string& secret,
                                 std::int64_t now_s);

}  // namespace bazaar::auth

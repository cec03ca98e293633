// Refresh tokens (API.md §2): opaque, random 256-bit, single use, 7 days,
// kept in Redis as SHA-256 only. The Redis layout and the rotation rules are
// in lua/auth_refresh_issue.lua and lua/auth_refresh_rotate.lua.
//
// A token reads "<userId>.<64 hex>": clients treat it as opaque; the user id
// prefix only tells the server which hash-tagged key family to look in.
// Tampering with the prefix just points at another family, where the hash
// of the whole token does not exist.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bazaar/redis.hpp"

namespace bazaar::auth {

// A new token for `user_id` (not stored).
std::string make_refresh_token(std::string_view user_id);
// The user id of a well-formed token, or nullopt when its shape is wrong.
std::optional<std::string> refresh_token_user(std::string_view token);
// "{rt:<user>}:t:<sha256 hex of token>" (the token must be well-formed).
std::string refresh_token_key(std::string_view user_id, std::string_view token);
std::string refresh_generation_key(std::string_view user_id);

// Creates and stores a token. Throws Error(kUnavailable) when Redis is down.
std::string issue_refresh_token(Redis& redis, std::string_view user_id, int ttl_s);

enum class RotateOutcome { kOk, kInvalid, kRevoked, kReused };

struct Rotation {
    RotateOutcome outcome = RotateOutcome::kInvalid;
    std::string user_id;
    std::string new_token;  // set when outcome == kOk
};

// Spends `presented` and stores its successor atomically. A second
// presentation of a spent token revokes all tokens of its user (kReused).
Rotation rotate_refresh_token(Redis& redis, std::string_view presented, int ttl_s);

// Revokes every refresh token of the user issued so far (logout, password
// reset, theft detection): one INCR, whatever the number of tokens.
void revoke_refresh_tokens(Redis& redis, std::string_view user_id);

}  // namespace bazaar::auth

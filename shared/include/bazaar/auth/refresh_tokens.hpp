// Refresh tokens (API.md §2): opaque, random 256-bit, single use, 7 days,
// kept in Redis as SHA-256 only. The Redis layout and the rotation rules are
// in lua/auth_refresh_issue.lua and lua/auth_refresh_rotate.lua.
//
// A token reads "<userId>.<64 hex>": clients treat it as opaque; the user id
// prefix only tells the server which hash-tagged key family to look in.
// Tampering with the prefix just points at another family, where the hash
// of the whole token does not exist.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bazaar/redis.hpp"

namespace bazaar::auth {

// A new token for `user_id` (not stored).
std::string make_refresh_token(std::string_view user_id);
// The user id of a well-formed token, or nullopt when its shape is wrong.
std::optional<std::string> refresh_token_user(std::string_view token);
// "{u:<user>}:rt:t:<sha256 hex of token>" (the token must be well-formed)
// and "{u:<user>}:rt:gen": the user's tag (key_tags.hpp).
std::string refresh_token_key(std::string_view user_id, std::string_view token);
std::string refresh_generation_key(std::string_view user_id);

// Creates and stores a token. Throws Error(kUnavailable) when Redis is down.
std::string issue_refresh_token(Redis& redis, std::string_view user_id, int ttl_s);

// kRetry: `presented` was spent moments ago (within the reuse window) and
// its successor is unspent: the same successor is handed out again.
enum class RotateOutcome { kOk, kRetry, kInvalid, kRevoked, kReused };

struct Rotation {
    RotateOutcome outcome = RotateOutcome::kInvalid;
    std::string user_id;
    std::string new_token;  // set when outcome is kOk or kRetry
};

struct RotationPolicy {
    int ttl_s = 0;              // REFRESH_TTL_S
    int reuse_window_s = 0;     // REFRESH_REUSE_WINDOW_S
    int access_ttl_s = 0;       // JWT_TTL_S: life of the stamp set on theft
    std::string successor_key;  // HMAC key deriving a token's successor
    std::int64_t now_ms = 0;
};

// The successor of `presented`: "<userId>.<HMAC-SHA256(key, presented) hex>".
// Derived rather than random so that a retry of the same rotation can be
// answered with the same token without storing any token in Redis.
std::string successor_token(std::string_view user_id, std::string_view presented,
                            const std::string& key);

// Spends `presented` and stores its successor atomically
// (lua/auth_refresh_rotate.lua). A second presentation of a spent token
// within the reuse window, while its successor is unspent, is a retry
// (kRetry, same successor); any other revokes every session of the user,
// access tokens included (kReused).
Rotation rotate_refresh_token(Redis& redis, std::string_view presented,
                              const RotationPolicy& policy);

}  // namespace bazaar::auth

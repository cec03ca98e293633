// Password-reset tokens (API.md §2: one-time, 1 h).
//
// A token reads "<userId>.<64 hex>" (the user id tells which hash-tagged
// key to look in, as with refresh tokens). Redis keeps only its SHA-256,
// in one hash per user (lua/auth_reset_issue.lua), so that confirming any
// token invalidates every outstanding token of that user.
//
// Who holds the raw token: only the email. The API's reset request enqueues
// a job carrying the address alone; the email job looks the user up and
// issues the token while rendering (workers/jobs/email.cpp). So the job
// data that admins can read and the AOF keeps can never reset a password,
// and the request does the same work whether the address is known or not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bazaar/redis.hpp"

namespace bazaar::auth {

// "{u:<userId>}:pwreset" (the user's tag, key_tags.hpp)
std::string password_reset_key(std::string_view user_id);

// Creates and stores a token valid `ttl_s` seconds. Throws
// Error(kUnavailable) when Redis is down.
std::string issue_password_reset_token(Redis& redis, std::string_view user_id, int ttl_s);

// Spends `token` and every other outstanding token of its user. Returns the
// user id, or nullopt for a malformed, unknown, expired or spent token.
std::optional<std::string> spend_password_reset_token(Redis& redis, std::string_view token);

}  // namespace bazaar::auth

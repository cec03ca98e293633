// Sign-up, sign-in and session rules of API.md §2, independent of HTTP.
//
// A session is a short-lived JWT access token (verified by signature and
// exp, plus the user's "not before" stamp: session_stamp.hpp) and a refresh
// token kept in Redis (refresh_tokens.hpp). Logout, password reset and
// refresh-token theft revoke both at once (revoke_sessions).
//
// Every argon2id call goes through the process's HashingGate, so sign-ins
// can never occupy every handler thread.
#pragma once

#include <string>
#include <string_view>

#include "bazaar/backends.hpp"
#include "bazaar/users/user_service.hpp"

namespace bazaar::auth {

struct Session {
    users::User user;
    std::string access_token;
    std::string refresh_token;
};

// Throws Error(kValidationFailed) naming the field, Error(kConflict) for a
// taken email, Error(kUnavailable) when the hashing gate is full.
Session register_user(Backends& b, std::string_view email, std::string_view username,
                      std::string_view password);

// Throws Error(kUnauthenticated) with the same message whether the email is
// unknown or the password wrong, and spends the same argon2id time either way.
Session login(Backends& b, std::string_view email, std::string_view password);

// Rotates `refresh_token` (single use). Unknown, expired, revoked or reused
// tokens throw Error(kUnauthenticated); a reused one first revokes every
// session. A retry within REFRESH_REUSE_WINDOW_S gets the same new refresh
// token (and a fresh access token) instead: see lua/auth_refresh_rotate.lua.
Session refresh(Backends& b, std::string_view refresh_token);

// Ends every session of the user: refresh tokens and access tokens issued
// until now (there is one logout, and it is "everywhere").
void logout(Backends& b, std::string_view user_id);

// Always succeeds, known email or not (no user enumeration), and does the
// same work either way: it enqueues a high-priority email job carrying only
// the normalised address. The job (workers/jobs/email.cpp) looks the user
// up and issues the one-time token (password_reset.hpp) when it renders.
void request_password_reset(Backends& b, std::string_view email);

// Spends the token (and every other outstanding reset token of the user),
// stores the new password and ends every session. Throws
// Error(kValidationFailed) for a bad password (the token survives) or an
// unknown/expired/spent token (field "token").
void confirm_password_reset(Backends& b, std::string_view token, std::string_view new_password);

}  // namespace bazaar::auth

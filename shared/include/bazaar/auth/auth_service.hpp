// Sign-up, sign-in and session rules of API.md §2, independent of HTTP.
//
// A session is a short-lived JWT access token (stateless: verified by
// signature and exp alone) plus a refresh token kept in Redis
// (refresh_tokens.hpp). Logout and password reset revoke the refresh tokens;
// an access token already handed out stays valid until its exp (15 min),
// which is the usual price of stateless access tokens.
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
// tokens throw Error(kUnauthenticated); a reused one first revokes them all.
Session refresh(Backends& b, std::string_view refresh_token);

void logout(Backends& b, std::string_view user_id);

// Always succeeds for a syntactically valid email, known or not (no user
// enumeration). For a known user, stores a one-time token (hashed, TTL
// PASSWORD_RESET_TTL_S) and enqueues a high-priority email carrying it.
void request_password_reset(Backends& b, std::string_view email);

// Spends the token, stores the new password and revokes refresh tokens.
// Throws Error(kValidationFailed) for a bad password (the token survives) or
// an unknown/expired/spent token (field "token").
void confirm_password_reset(Backends& b, std::string_view token, std::string_view new_password);

// Key of a reset token in Redis: the SHA-256 of the token, never the token.
std::string password_reset_key(std::string_view token);

}  // namespace bazaar::auth

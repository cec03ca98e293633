// Who is calling: the access token of a request (Authorization: Bearer, or
// the accessToken cookie), verified once per request (API.md §2). Handlers
// call one of these first; they never parse tokens themselves.
//
// A token is valid when its signature and exp are, its `sub` is a canonical
// UUID, and it was issued after its user's "not before" stamp
// (auth/session_stamp.hpp: logout, password reset, refresh theft). The stamp
// comes from the request's rate-limit/cache round trip when that fetched it
// (Request::session_stamp), else from one GET here.
#pragma once

#include <optional>
#include <string>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/backends.hpp"
#include "http.hpp"

namespace bazaar::http {

struct Principal {
    std::string user_id;
    std::string role;  // "user" | "admin"
    bool is_admin() const { return role == "admin"; }
};

// 401 UNAUTHENTICATED without a valid token.
Principal require_user(Request& req, Backends& b);
// 401 without a valid token, 403 FORBIDDEN for a non-admin.
Principal require_admin(Request& req, Backends& b);
// nullopt when no token was sent at all; a token that was sent but is bad
// still answers 401 (a client with a broken token should learn about it).
std::optional<Principal> optional_user(Request& req, Backends& b);

// The verified claims of the presented token, without the stamp check and
// without throwing (nullopt: no token or a bad one). For the rate limiter's
// accounting and to know whose stamp to fetch.
std::optional<auth::AccessClaims> presented_claims(Request& req, Backends& b);

}  // namespace bazaar::http

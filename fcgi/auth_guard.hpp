// Who is calling: the access token of a request (Authorization: Bearer, or
// the accessToken cookie), verified once per request (API.md §2). Handlers
// call one of these first; they never parse tokens themselves.
#pragma once

#include <optional>
#include <string>

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

}  // namespace bazaar::http

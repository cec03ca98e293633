// Who may hold a socket: the one token check of bazaar-ws, used at the
// handshake and by {"type":"auth"} re-authentication. It is the same
// verification as the REST API's (shared/src/auth/jwt.cpp). The per-user
// "not before" stamp of logout needs a Redis round trip, so it is checked
// asynchronously by the server (server.cpp, verify_session/reauthenticate).
#pragma once

#include <optional>
#include <string_view>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/config.hpp"

namespace bazaar::ws {

// The claims of a valid, unexpired access token; nullopt otherwise.
std::optional<auth::AccessClaims> authenticate(std::string_view token, const Config& config);

}  // namespace bazaar::ws

#include "access.hpp"

#include <chrono>

#include "bazaar/error.hpp"

namespace bazaar::ws {

std::optional<auth::AccessClaims> authenticate(std::string_view token, const Config& config) {
    if (token.empty() || token.size() > 4096) return std::nullopt;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    try {
        return auth::verify_access_token(token, config.jwt_secret, now);
    } catch (const Error&) {
        return std::nullopt;
    }
}

}  // namespace bazaar::ws

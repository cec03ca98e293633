// Password hashing with argon2id (libsodium, INTERACTIVE limits: ~0.1 s and
// 64 MiB per call). Callers bound how many run at once; see auth service.
#pragma once

#include <string>
#include <string_view>

namespace bazaar::auth {

// Throws std::runtime_error when libsodium cannot allocate.
std::string hash_password(std::string_view password);
bool verify_password(const std::string& hash, std::string_view password);

}  // namespace bazaar::auth

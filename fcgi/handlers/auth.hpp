// /api/v1/auth/*: register, login, refresh, logout, profile, password reset
// (API.md §2). Thin adapters over shared/auth and shared/users.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_auth_routes(Router& router);

}  // namespace bazaar::http

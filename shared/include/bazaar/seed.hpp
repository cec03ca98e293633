// Demo data (API.md §8): an admin, user1..user5, and 240 books with tags and
// stock. Idempotent: users are found or created by email; the catalog is
// written once, guarded by the app_meta row 'seed.demo' in the same
// transaction, so a second run changes nothing.
#pragma once

#include <string>

#include "bazaar/pg.hpp"

namespace bazaar {

struct SeedOptions {
    std::string admin_password = "admin-password-1";
    std::string user_password = "user-password-1";
    int books = 240;
};

struct SeedResult {
    int users_created = 0;
    int books_created = 0;
};

SeedResult seed_demo(Pg& pg, const SeedOptions& options);

}  // namespace bazaar

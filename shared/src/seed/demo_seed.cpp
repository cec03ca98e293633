#include "bazaar/seed.hpp"

#include "bazaar/users/user_service.hpp"

namespace bazaar {

namespace {
const char* const kAdjectives[] = {"Silent", "Crimson", "Hidden", "Last", "Golden", "Broken",
                                   "Distant", "Electric", "Quiet", "Wild", "Iron", "Paper"};
const char* const kNouns[] = {"River", "Garden", "Algorithm", "Empire", "Harbor", "Library",
                              "Winter", "Compiler", "Orchard", "Lighthouse", "Kingdom", "Signal",
                              "Map", "Engine", "Forest", "Archive", "Voyage", "Theorem", "Bazaar",
                              "Clockwork"};
const char* const kAuthors[] = {"Ada Park", "Bruno Keller", "Chidi Okafor", "Dana Ruiz",
                                "Elena Novak", "Farid Haddad", "Grace Liu", "Hugo Martin",
                                "Ines Costa", "Jonas Berg", "Keiko Sato", "Lena Fischer"};
const char* const kTags[] = {"fiction", "science", "history", "programming", "fantasy",
                             "mystery", "poetry", "travel", "philosophy", "children",
                             "biography", "cooking", "art", "economics", "classics"};
}  // namespace

SeedResult seed_demo(Pg& pg, const SeedOptions& options) {
    SeedResult result;
    struct DemoUser {
        std::string email, username, role;
    };
    std::vector<DemoUser> demo_users = {{"admin@example.com", "admin", "admin"}};
    for (int i = 1; i <= 5; ++i)
        demo_users.push_back({"user" + std::to_string(i) + "@example.com",
                              "user" + std::to_string(i), "user"});
    for (const auto& u : demo_users) {
        bool exists = pg.transact([&](pqxx::work& w) {
            return users::find_by_email(w, u.email).has_value();
        });
        if (exists) continue;
        users::ensure_user(pg, u.email, u.username,
                           u.role == "admin" ? options.admin_password : options.user_password,
                           u.role);
        ++result.users_created;
    }

    result.books_created = pg.transact([&](pqxx::work& w) {
        w.exec0("LOCK TABLE app_meta IN SHARE ROW EXCLUSIVE MODE");
        if (!w.exec("SELECT 1 FROM app_meta WHERE key = 'seed.demo'").empty()) return 0;
        for (const char* t : kTags)
            w.exec_params("INSERT INTO tags (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", t);
        const int na = sizeof kAdjectives / sizeof *kAdjectives;
        const int nn = sizeof kNouns / sizeof *kNouns;
        const int nt = sizeof kTags / sizeof *kTags;
        for (int i = 0; i < options.books; ++i) {
            std::string title = std::string("The ") + kAdjectives[i % na] + " " +
                                kNouns[(i / na + i) % nn] + (i >= na * nn ? " II" : "");
            std::string author = kAuthors[(i * 7) % (sizeof kAuthors / sizeof *kAuthors)];
            int price = 499 + (i * 137) % 4500;
            int stock = 5 + (i * 31) % 60;
            std::string description = "A demo book about " + std::string(kNouns[i % nn]) +
                                      "s, written by " + author + ".";
            auto id = w.exec_params1(
                           "INSERT INTO books (title, author, description, price_cents, stock) "
                           "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                           title, author, description, price, stock)[0]
                          .as<long long>();
            for (int k = 0; k < 1 + i % 3; ++k) {
                w.exec_params(
                    "INSERT INTO book_tags (book_id, tag_id) "
                    "SELECT $1, id FROM tags WHERE name = $2 ON CONFLICT DO NOTHING",
                    id, kTags[(i + k * 5) % nt]);
            }
        }
        w.exec0("INSERT INTO app_meta (key, value) VALUES ('seed.demo', '1')");
        return options.books;
    });
    return result;
}

}  // namespace bazaar

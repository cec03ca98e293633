// bazaar: the command line of Book Bazar (API.md §8). Every subcommand exits
// 0 on success, or non-zero with one line on stderr.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bazaar/config.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/migrations.hpp"
#include "bazaar/replication.hpp"
#include "bazaar/seed.hpp"
#include "bazaar/users/user_service.hpp"
#include "commands.hpp"

namespace bazaar::cli {

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: bazaar <command>\n"
                 "  migrate up|status\n"
                 "  seed\n"
                 "  user create --email E --username U [--password P | stdin] [--admin]\n");
    for (const auto& c : extra_commands()) std::fprintf(stderr, "  %s\n", c.usage.c_str());
    return 2;
}

int migrate(const Config& cfg, const std::vector<std::string>& args) {
    Pg pg(cfg.pg_conninfo());
    if (args.size() == 1 && args[0] == "up") {
        auto applied = migrate_up(pg, cfg.migrations_dir);
        if (applied.empty()) std::printf("migrations: up to date\n");
        for (const auto& v : applied) std::printf("applied %s\n", v.c_str());
        return 0;
    }
    if (args.size() == 1 && args[0] == "status") {
        bool bad = false;
        for (const auto& s : migration_status(pg, cfg.migrations_dir)) {
            const char* state = s.missing    ? "MISSING FILE"
                                : s.modified ? "MODIFIED"
                                : s.applied  ? "applied"
                                             : "pending";
            bad = bad || s.missing || s.modified;
            std::printf("%-40s %-13s %s\n", s.version.c_str(), state, s.applied_at.c_str());
        }
        return bad ? 1 : 0;
    }
    return usage();
}

int seed(const Config& cfg) {
    Pg pg(cfg.pg_conninfo());
    SeedOptions o;
    o.admin_password = cfg.seed_admin_password;
    o.user_password = cfg.seed_user_password;
    auto r = seed_demo(pg, o);
    std::printf("seed: %d users and %d books created\n", r.users_created, r.books_created);
    return 0;
}

int user(const Config& cfg, const std::vector<std::string>& args) {
    if (args.empty() || args[0] != "create") return usage();
    std::string email, username, password;
    bool admin = false;
    for (size_t i = 1; i < args.size(); ++i) {
        auto next = [&]() -> std::string {
            if (i + 1 >= args.size()) throw std::runtime_error(args[i] + " needs a value");
            return args[++i];
        };
        if (args[i] == "--email")
            email = next();
        else if (args[i] == "--username")
            username = next();
        else if (args[i] == "--password")
            password = next();
        else if (args[i] == "--admin")
            admin = true;
        else
            throw std::runtime_error("unknown option " + args[i]);
    }
    if (email.empty()) throw std::runtime_error("--email is required");
    if (username.empty()) username = email.substr(0, email.find('@'));
    if (password.empty()) std::getline(std::cin, password);
    Pg pg(cfg.pg_conninfo());
    auto u = users::create_user(pg, email, username, password, admin ? "admin" : "user");
    std::printf("created %s %s (%s)\n", u.role.c_str(), u.email.c_str(), u.id.c_str());
    return 0;
}

}  // namespace

int run(int argc, char** argv) {
    if (argc < 2) return usage();
    std::string cmd = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    Config cfg = Config::load();
    replication::configure(cfg);
    log::init("bazaar", log::Level::kWarn);
    if (cmd == "migrate") return migrate(cfg, args);
    if (cmd == "seed") return seed(cfg);
    if (cmd == "user") return user(cfg, args);
    for (const auto& c : extra_commands())
        if (c.name == cmd) return c.run(cfg, args);
    return usage();
}

}  // namespace bazaar::cli

int main(int argc, char** argv) {
    try {
        return bazaar::cli::run(argc, argv);
    } catch (const bazaar::Error& e) {
        std::string detail;
        for (const auto& d : e.details()) detail += " (" + d.field + ": " + d.reason + ")";
        std::fprintf(stderr, "bazaar: %s%s\n", e.what(), detail.c_str());
    } catch (const std::exception& e) {
        std::string msg = e.what();
        while (!msg.empty() && msg.back() == '\n') msg.pop_back();
        for (auto& c : msg)
            if (c == '\n') c = ' ';
        std::fprintf(stderr, "bazaar: %s\n", msg.c_str());
    }
    return 1;
}

#include "bazaar/migrations.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "bazaar/text/hex.hpp"

namespace bazaar {

namespace {
constexpr long kMigrationLockId = 7243901;

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("cannot read " + path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void ensure_table(pqxx::work& w) {
    w.exec0(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, checksum text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())");
}

std::map<std::string, std::pair<std::string, std::string>> applied(pqxx::work& w) {
    std::map<std::string, std::pair<std::string, std::string>> out;
    for (const auto& row : w.exec(
             "SELECT version, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
             "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations")) {
        out[row[0].as<std::string>()] = {row[1].as<std::string>(), row[2].as<std::string>()};
    }
    return out;
}
}  // namespace

std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return text::hex_encode(md, len);
}

std::vector<MigrationFile> list_migrations(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) throw std::runtime_error("cannot read migrations folder " + dir);
    std::vector<MigrationFile> files;
    for (const auto& e : it) {
        if (e.path().extension() != ".sql") continue;
        MigrationFile f;
        f.version = e.path().stem().string();
        f.path = e.path().string();
        f.checksum = sha256_hex(read_file(f.path));
        files.push_back(std::move(f));
    }
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
    return files;
}

std::vector<MigrationStatus> migration_status(Pg& pg, const std::string& dir) {
    auto files = list_migrations(dir);
    return pg.transact([&](pqxx::work& w) {
        ensure_table(w);
        auto done = applied(w);
        std::vector<MigrationStatus> out;
        for (const auto& f : files) {
            MigrationStatus s;
            s.version = f.version;
            auto it = done.find(f.version);
            if (it != done.end()) {
                s.applied = true;
                s.modified = it->second.first != f.checksum;
                s.applied_at = it->second.second;
                done.erase(it);
            }
            out.push_back(s);
        }
        for (const auto& [version, info] : done) {
            MigrationStatus s;
            s.version = version;
            s.applied = true;
            s.missing = true;
            s.applied_at = info.second;
            out.push_back(s);
        }
        return out;
    });
}

std::vector<std::string> migrate_up(Pg& pg, const std::string& dir) {
    auto files = list_migrations(dir);
    std::vector<std::string> done_now;
    for (const auto& f : files) {
        bool ran = pg.transact([&](pqxx::work& w) {
            w.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockId) + ")");
            ensure_table(w);
            auto done = applied(w);
            for (const auto& other : files) done.erase(other.version);
            if (!done.empty()) {
                throw std::runtime_error("migration " + done.begin()->first +
                                         " was applied but its file is gone");
            }
            auto row = w.exec_params("SELECT checksum FROM schema_migrations WHERE version = $1",
                                     f.version);
            if (!row.empty()) {
                if (row[0][0].as<std::string>() != f.checksum) {
                    throw std::runtime_error("migration " + f.path +
                                             " was edited after it was applied (checksum "
                                             "mismatch); add a new migration instead");
                }
                return false;
            }
            w.exec(read_file(f.path));
            w.exec_params("INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)",
                          f.version, f.checksum);
            return true;
        });
        if (ran) done_now.push_back(f.version);
    }
    return done_now;
}

}  // namespace bazaar

// Schema migrations: migrations/NNNN_name.sql applied in file-name order, each
// in its own transaction together with its row in schema_migrations
// (version, sha256 checksum). A concurrent migrator waits on an advisory
// lock. An applied file that was edited or removed stops `up` with an error:
// history is never rewritten silently.
#pragma once

#include <string>
#include <vector>

#include "bazaar/pg.hpp"

namespace bazaar {

struct MigrationFile {
    std::string version;  // "0001_init"
    std::string path;
    std::string checksum;  // sha256 hex of the file
};

struct MigrationStatus {
    std::string version;
    bool applied = false;
    bool modified = false;  // applied, but the file's checksum changed
    bool missing = false;   // applied, but no file any more
    std::string applied_at;
};

// Lists `dir`'s *.sql files in order. Throws std::runtime_error if unreadable.
std::vector<MigrationFile> list_migrations(const std::string& dir);
std::vector<MigrationStatus> migration_status(Pg& pg, const std::string& dir);
// Applies pending migrations; returns the versions applied (empty: up to date).
// Throws std::runtime_error naming the file when history does not match.
std::vector<std::string> migrate_up(Pg& pg, const std::string& dir);

std::string sha256_hex(const std::string& data);

}  // namespace bazaar

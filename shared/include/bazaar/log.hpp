// JSON-lines logging: one object per line on stderr, with time, level,
// process, message, the current request id (thread-local, set by the FastCGI
// front and by job runners) and any extra fields. Lines are written with one
// write(2) so that lines of concurrent threads never interleave.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace bazaar::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Throws std::invalid_argument for an unknown name.
Level parse_level(std::string_view name);
void init(std::string process_name, Level min_level);
bool enabled(Level level);

// The request (or job) id that every line of this thread carries.
void set_request_id(std::string id);
const std::string& request_id();

// `fields` must be a JSON object (or null).
void write(Level level, std::string_view message, const nlohmann::json* fields);
std::string format_line(Level level, std::string_view message, const nlohmann::json* fields);
// `text` cut before a Postgres "DETAIL:" / "CONTEXT:" / "Failing row
// contains" (they quote row contents: hashes, emails). format_line applies
// it to the message and every string field, so no log line carries them;
// job errors that admins can read go through it too.
std::string redact(std::string_view text);

void debug(std::string_view message);
void info(std::string_view message);
void warn(std::string_view message);
void error(std::string_view message);
void debug(std::string_view message, const nlohmann::json& fields);
void info(std::string_view message, const nlohmann::json& fields);
void warn(std::string_view message, const nlohmann::json& fields);
void error(std::string_view message, const nlohmann::json& fields);

}  // namespace bazaar::log

#include "bazaar/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "bazaar/time.hpp"

namespace bazaar::log {

namespace {
std::string g_process = "bazaar";
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
thread_local std::string t_request_id;

const char* level_name(Level l) {
    switch (l) {
        case Level::kDebug: return "debug";
        case Level::kInfo: return "info";
        case Level::kWarn: return "warn";
        case Level::kError: return "error";
    }
    return "info";
}
}  // namespace

Level parse_level(std::string_view name) {
    if (name == "debug") return Level::kDebug;
    if (name == "info") return Level::kInfo;
    if (name == "warn") return Level::kWarn;
    if (name == "error") return Level::kError;
    throw std::invalid_argument("unknown log level");
}

void init(std::string process_name, Level min_level) {
    g_process = std::move(process_name);
    g_min_level = static_cast<int>(min_level);
}

bool enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

void set_request_id(std::string id) { t_request_id = std::move(id); }
const std::string& request_id() { return t_request_id; }

std::string format_line(Level level, std::string_view message, const nlohmann::json* fields) {
    nlohmann::json j = {{"ts", format_rfc3339(std::chrono::system_clock::now())},
                        {"level", level_name(level)},
                        {"proc", g_process},
                        {"pid", static_cast<int>(getpid())},
                        {"msg", message}};
    if (!t_request_id.empty()) j["requestId"] = t_request_id;
    if (fields && fields->is_object()) {
        for (auto it = fields->begin(); it != fields->end(); ++it) j[it.key()] = it.value();
    }
    // Invalid UTF-8 in a logged value must not throw from a log call.
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    line += '\n';
    return line;
}

void write(Level level, std::string_view message, const nlohmann::json* fields) {
    if (!enabled(level)) return;
    std::string line = format_line(level, message, fields);
    ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    (void)ignored;
}

void debug(std::string_view m) { write(Level::kDebug, m, nullptr); }
void info(std::string_view m) { write(Level::kInfo, m, nullptr); }
void warn(std::string_view m) { write(Level::kWarn, m, nullptr); }
void error(std::string_view m) { write(Level::kError, m, nullptr); }
void debug(std::string_view m, const nlohmann::json& f) { write(Level::kDebug, m, &f); }
void info(std::string_view m, const nlohmann::json& f) { write(Level::kInfo, m, &f); }
void warn(std::string_view m, const nlohmann::json& f) { write(Level::kWarn, m, &f); }
void error(std::string_view m, const nlohmann::json& f) { write(Level::kError, m, &f); }

}  // namespace bazaar::log

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

std::string redact(std::string_view text) {
    // libpq's message: "ERROR:  ...\nDETAIL:  Failing row contains (...)\n
    // CONTEXT: ...". The first line names the constraint; the rest may quote
    // row contents (a password hash, an email), so it never reaches a log.
    std::size_t cut = std::string_view::npos;
    for (std::string_view marker : {"DETAIL:", "CONTEXT:", "Failing row contains"}) {
        std::size_t at = text.find(marker);
        if (at < cut) cut = at;
    }
    if (cut == std::string_view::npos) return std::string(text);
    std::string out(text.substr(0, cut));
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out + " [details redacted]";
}

namespace {
void redact_strings(nlohmann::json& j) {
    if (j.is_string()) {
        const auto& s = j.get_ref<const std::string&>();
        if (s.find("DETAIL:") != std::string::npos || s.find("CONTEXT:") != std::string::npos ||
            s.find("Failing row contains") != std::string::npos)
            j = redact(s);
    } else if (j.is_structured()) {
        for (auto& v : j) redact_strings(v);
    }
}
}  // namespace

std::string format_line(Level level, std::string_view message, const nlohmann::json* fields) {
    nlohmann::json j = {{"ts", format_rfc3339(std::chrono::system_clock::now())},
                        {"level", level_name(level)},
                        {"proc", g_process},
                        {"pid", static_cast<int>(getpid())},
                        {"msg", redact(message)}};
    if (!t_request_id.empty()) j["requestId"] = t_request_id;
    if (fields && fields->is_object()) {
        for (auto it = fields->begin(); it != fields->end(); ++it) {
            nlohmann::json v = it.value();
            redact_strings(v);
            j[it.key()] = std::move(v);
        }
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

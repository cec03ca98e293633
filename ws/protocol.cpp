#include "protocol.hpp"

#include <cctype>
#include <nlohmann/json.hpp>

namespace bazaar::ws {

namespace {
ClientMessage invalid(std::string reason) {
    ClientMessage m;
    m.reason = std::move(reason);
    return m;
}
}  // namespace

ClientMessage parse_client_message(std::string_view text) {
    auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (j.is_discarded()) return invalid("malformed JSON");
    if (!j.is_object()) return invalid("a message must be a JSON object");
    auto type = j.find("type");
    if (type == j.end() || !type->is_string()) return invalid("\"type\" must be a string");
    const auto& t = type->get_ref<const std::string&>();
    auto only = [&](std::initializer_list<const char*> keys) {
        for (auto it = j.begin(); it != j.end(); ++it) {
            bool known = false;
            for (const char* k : keys) known = known || it.key() == k;
            if (!known) return false;
        }
        return true;
    };
    if (t == "ping") {
        if (!only({"type"})) return invalid("unknown field in ping");
        ClientMessage m;
        m.kind = ClientMessage::Kind::kPing;
        return m;
    }
    if (t == "resume") {
        auto id = j.find("lastEventId");
        if (id == j.end() || !id->is_string()) return invalid("\"lastEventId\" must be a string");
        if (!only({"type", "lastEventId"})) return invalid("unknown field in resume");
        auto parsed = live::parse_event_id(id->get_ref<const std::string&>());
        if (!parsed) return invalid("\"lastEventId\" is not an event id");
        ClientMessage m;
        m.kind = ClientMessage::Kind::kResume;
        m.last_event_id = *parsed;
        return m;
    }
    if (t == "auth") {
        auto token = j.find("token");
        if (token == j.end() || !token->is_string() || token->get_ref<const std::string&>().empty())
            return invalid("\"token\" must be a non-empty string");
        if (!only({"type", "token"})) return invalid("unknown field in auth");
        ClientMessage m;
        m.kind = ClientMessage::Kind::kAuth;
        m.token = token->get<std::string>();
        return m;
    }
    return invalid("unknown message type");
}

std::string pong_frame() {
    return R"({"type":"pong"})";
}

std::string error_frame(std::string_view reason) {
    return nlohmann::json{{"type", "error"}, {"reason", reason}}.dump();
}

std::string resume_failed_frame(std::string_view reason) {
    return nlohmann::json{{"type", "resume_failed"}, {"reason", reason}}.dump();
}

std::string auth_ok_frame(long long expires_at_s) {
    return nlohmann::json{{"type", "auth_ok"}, {"expiresAt", expires_at_s}}.dump();
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        std::size_t end = header.find(';', pos);
        if (end == std::string_view::npos) end = header.size();
        std::string_view pair = header.substr(pos, end - pos);
        while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t'))
            pair.remove_prefix(1);
        auto eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
            std::string_view value = pair.substr(eq + 1);
            while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
                value.remove_suffix(1);
            if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                value = value.substr(1, value.size() - 2);
            return std::string(value);
        }
        pos = end + 1;
    }
    return std::nullopt;
}

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin) {
    if (origin.empty()) return true;
    std::string lower(origin);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!lower.empty() && lower.back() == '/') lower.pop_back();
    for (const auto& a : allowed)
        if (a == "*" || a == lower) return true;
    return false;
}

std::optional<live::EventId> frame_event_id(std::string_view frame) {
    auto j = nlohmann::json::parse(frame.begin(), frame.end(), nullptr, false);
    if (!j.is_object()) return std::nullopt;
    auto id = j.find("id");
    if (id == j.end() || !id->is_string() || !j.contains("event")) return std::nullopt;
    return live::parse_event_id(id->get_ref<const std::string&>());
}

}  // namespace bazaar::ws

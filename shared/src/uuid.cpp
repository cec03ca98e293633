#include "bazaar/uuid.hpp"

namespace bazaar {

namespace {
bool uuid_shape(std::string_view s, bool lower_only) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                   (!lower_only && c >= 'A' && c <= 'F');
        if (dash ? c != '-' : !hex) return false;
    }
    return true;
}
}  // namespace

bool is_uuid(std::string_view s) {
    return uuid_shape(s, false);
}

bool is_canonical_uuid(std::string_view s) {
    return uuid_shape(s, true);
}

std::optional<std::string> canonical_uuid(std::string_view s) {
    if (!is_uuid(s)) return std::nullopt;
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace bazaar

#include "bazaar/text/strings.hpp"

namespace bazaar::text {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

std::string_view trim(std::string_view s, std::string_view chars) {
    auto b = s.find_first_not_of(chars);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(chars);
    return s.substr(b, e - b + 1);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (true) {
        std::size_t at = s.find(sep, start);
        out.push_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

std::vector<std::string> split_list(std::string_view s, char sep) {
    std::vector<std::string> out;
    for (auto piece : split(s, sep)) {
        auto t = trim(piece);
        if (!t.empty()) out.emplace_back(t);
    }
    return out;
}

}  // namespace bazaar::text

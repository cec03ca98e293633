#include "bazaar/catalog/isbn.hpp"

namespace bazaar::catalog {

namespace {

char isbn13_check(std::string_view twelve) {
    int sum = 0;
    for (std::size_t i = 0; i < 12; ++i) sum += (twelve[i] - '0') * (i % 2 ? 3 : 1);
    return static_cast<char>('0' + (10 - sum % 10) % 10);
}

}  // namespace

std::optional<std::string> normalize_isbn(std::string_view text) {
    if (text.size() > 32) return std::nullopt;
    std::string d;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c >= '0' && c <= '9') {
            d += c;
        } else if ((c == 'X' || c == 'x') && d.size() == 9 && i + 1 == text.size()) {
            d += 'X';
        } else if ((c == '-' || c == ' ') && !d.empty() && i + 1 < text.size()) {
            continue;
        } else {
            return std::nullopt;
        }
    }
    if (d.size() == 10) {
        int sum = 0;
        for (int i = 0; i < 10; ++i) sum += (10 - i) * (d[i] == 'X' ? 10 : d[i] - '0');
        if (sum % 11 != 0) return std::nullopt;
        std::string twelve = "978" + d.substr(0, 9);
        return twelve + isbn13_check(twelve);
    }
    if (d.size() == 13) {
        if (d.compare(0, 3, "978") != 0 && d.compare(0, 3, "979") != 0) return std::nullopt;
        if (isbn13_check(d) != d[12]) return std::nullopt;
        return d;
    }
    return std::nullopt;
}

}  // namespace bazaar::catalog

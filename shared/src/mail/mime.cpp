#include "bazaar/mail/mime.hpp"

#include <cstdio>
#include <stdexcept>

#include "bazaar/text/base64.hpp"

namespace bazaar::mail::mime {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], 0 when invalid
// (overlong forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_len(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    if (c < 0x80) return 1;
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (n == 0 || c > 0xF4 || c == 0xC0 || c == 0xC1 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((b(k) & 0xC0) != 0x80) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong 3-byte
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong 4-byte
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return n;
}

bool printable_ascii(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c > 0x7E) return false;
    return true;
}

using text::base64_encode;

// RFC 2047 §2: an encoded-word is at most 75 characters. "=?UTF-8?B?" + "?="
// is 12, leaving 63 for base64, i.e. 45 input bytes; never split a character.
std::string encoded_words(std::string_view utf8) {
    constexpr std::size_t kMaxBytes = 45;
    std::string out;
    std::size_t i = 0;
    while (i < utf8.size()) {
        std::size_t end = i;
        while (end < utf8.size()) {
            std::size_t n = utf8_len(utf8, end);
            if (n == 0) n = 1;  // one_line() already dropped invalid bytes
            if (end + n - i > kMaxBytes) break;
            end += n;
        }
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?" + base64_encode(utf8.substr(i, end - i)) + "?=";
        i = end;
    }
    return out;
}

}  // namespace

std::string one_line(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = utf8_len(s, i);
        if (n == 0) {
            ++i;
            continue;
        }
        if (n == 1) {
            auto c = static_cast<unsigned char>(s[i]);
            out += (c < 0x20 || c == 0x7F) ? ' ' : s[i];
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    return out;
}

std::string header_text(std::string_view utf8) {
    std::string s = one_line(utf8);
    // Plain text that could be mistaken for an encoded-word ("=?") is encoded
    // too, so a reader shows exactly what was written.
    if (printable_ascii(s) && s.find("=?") == std::string::npos && s.size() <= 900) return s;
    return encoded_words(s);
}

bool is_safe_address(std::string_view addr) {
    if (addr.empty() || addr.size() > 254) return false;
    std::size_t at = addr.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 == addr.size() ||
        addr.find('@', at + 1) != std::string_view::npos)
        return false;
    for (unsigned char c : addr) {
        if (c <= 0x20 || c >= 0x7F) return false;
        switch (c) {
            case '<':
            case '>':
            case '(':
            case ')':
            case ',':
            case ';':
            case ':':
            case '"':
            case '\\':
            case '[':
            case ']':
                return false;
            default:
                break;
        }
    }
    return true;
}

Mailbox parse_mailbox(std::string_view s) {
    Mailbox m;
    std::size_t lt = s.rfind('<');
    if (lt != std::string_view::npos && !s.empty() && s.back() == '>') {
        m.address = std::string(s.substr(lt + 1, s.size() - lt - 2));
        std::string_view name = s.substr(0, lt);
        while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
        while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
            name = name.substr(1, name.size() - 2);
        m.name = one_line(name);
    } else {
        m.address = std::string(s);
    }
    if (!is_safe_address(m.address))
        throw std::invalid_argument("not a plain email address: '" + one_line(m.address) + "'");
    return m;
}

std::string format_mailbox(const Mailbox& m) {
    if (!is_safe_address(m.address))
        throw std::invalid_argument("not a plain email address: '" + one_line(m.address) + "'");
    std::string name = one_line(m.name);
    if (name.empty()) return m.address;
    if (printable_ascii(name) && name.find("=?") == std::string::npos) {
        std::string q = "\"";
        for (char c : name) {
            if (c == '"' || c == '\\') q += '\\';
            q += c;
        }
        return q + "\" <" + m.address + ">";
    }
    return encoded_words(name) + " <" + m.address + ">";
}

std::string quoted_printable(std::string_view text) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
        start = nl == std::string_view::npos ? text.size() : nl + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::size_t col = 0;
        for (std::size_t i = 0; i < line.size(); ++i) {
            auto c = static_cast<unsigned char>(line[i]);
            bool last = i + 1 == line.size();
            char tok[4] = {static_cast<char>(c), 0, 0, 0};
            std::size_t len = 1;
            bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last);
            if (!literal) {
                tok[0] = '=';
                tok[1] = kHex[c >> 4];
                tok[2] = kHex[c & 15];
                len = 3;
            }
            // 75 characters plus the soft break's "=" is the 76 of RFC 2045.
            if (col + len > 75) {
                out += "=\r\n";
                col = 0;
            }
            out.append(tok, len);
            col += len;
        }
        out += "\r\n";
    }
    return out;
}

std::string base64_lines(std::string_view data) {
    std::string out;
    for (std::size_t i = 0; i < data.size(); i += 57)
        out += base64_encode(data.substr(i, 57)) + "\r\n";
    return out;
}

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string rfc5322_date(std::time_t t) {
    // Not strftime: %a and %b follow the locale, RFC 5322 wants English.
    static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return buf;
}

}  // namespace bazaar::mail::mime

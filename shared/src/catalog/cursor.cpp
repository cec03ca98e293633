#include "bazaar/catalog/cursor.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "bazaar/error.hpp"
#include "bazaar/migrations.hpp"  // sha256_hex

namespace bazaar::catalog {

namespace {

constexpr const char* kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t kMacHex = 32;

std::string mac_hex(const std::string& key, std::string_view msg) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len && out.size() < kMacHex; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

std::string filter_digest(std::string_view filter) {
    return sha256_hex(std::string(filter)).substr(0, 12);
}

Error bad_cursor(const char* why) {
    return Error::validation("cursor", why);
}

}  // namespace

std::string base64url_encode(std::string_view in) {
    std::string out;
    std::size_t i = 0;
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(in[k]); };
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (i < in.size()) {
        unsigned v = byte(i) << 16;
        if (i + 1 < in.size()) v |= byte(i + 1) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        if (i + 1 < in.size()) out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

bool base64url_decode(std::string_view text, std::string& out) {
    out.clear();
    if (text.size() % 4 == 1) return false;
    unsigned acc = 0;
    int bits = 0;
    for (char c : text) {
        const char* p = std::char_traits<char>::find(kAlphabet, 64, c);
        if (!p) return false;
        acc = (acc << 6) | static_cast<unsigned>(p - kAlphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero, or two encodings would decode alike.
    return (acc & ((1u << bits) - 1)) == 0;
}

std::string encode_cursor(std::int64_t last_id, std::string_view filter, const std::string& key) {
    std::string body = "v1." + std::to_string(last_id) + "." + filter_digest(filter);
    return base64url_encode(body + "." + mac_hex(key, body));
}

std::int64_t decode_cursor(std::string_view cursor, std::string_view filter,
                           const std::string& key) {
    if (cursor.empty() || cursor.size() > 200) throw bad_cursor("is malformed");
    std::string raw;
    if (!base64url_decode(cursor, raw)) throw bad_cursor("is malformed");
    auto last_dot = raw.rfind('.');
    if (last_dot == std::string::npos || raw.compare(0, 3, "v1.") != 0)
        throw bad_cursor("is malformed");
    std::string body = raw.substr(0, last_dot), mac = raw.substr(last_dot + 1);
    std::string expected = mac_hex(key, body);
    if (mac.size() != expected.size() ||
        CRYPTO_memcmp(mac.data(), expected.data(), expected.size()) != 0)
        throw bad_cursor("is not a cursor this server issued");
    auto dot = body.find('.', 3);
    if (dot == std::string::npos) throw bad_cursor("is malformed");
    std::string_view id_text = std::string_view(body).substr(3, dot - 3);
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || p != id_text.data() + id_text.size() || id < 1)
        throw bad_cursor("is malformed");
    if (body.substr(dot + 1) != filter_digest(filter))
        throw bad_cursor("belongs to another query (tag or q changed)");
    return id;
}

}  // namespace bazaar::catalog

#include "bazaar/catalog/cursor.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

#include "bazaar/error.hpp"
#include "bazaar/migrations.hpp"  // sha256_hex
#include "bazaar/text/base64.hpp"
#include "bazaar/text/hex.hpp"

namespace bazaar::catalog {

namespace {

constexpr std::size_t kMacHex = 32;

std::string mac_hex(const std::string& key, std::string_view msg) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
    return text::hex_encode(md, len).substr(0, kMacHex);
}

std::string filter_digest(std::string_view filter) {
    return sha256_hex(std::string(filter)).substr(0, 12);
}

Error bad_cursor(const char* why) {
    return Error::validation("cursor", why);
}

}  // namespace

std::string encode_cursor(std::int64_t last_id, std::string_view filter, const std::string& key) {
    std::string body = "v1." + std::to_string(last_id) + "." + filter_digest(filter);
    return text::base64url_encode(body + "." + mac_hex(key, body));
}

std::int64_t decode_cursor(std::string_view cursor, std::string_view filter,
                           const std::string& key) {
    if (cursor.empty() || cursor.size() > 200) throw bad_cursor("is malformed");
    auto decoded = text::base64url_decode(cursor);
    if (!decoded) throw bad_cursor("is malformed");
    const std::string& raw = *decoded;
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

#include "bazaar/payments/webhook_signature.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>

namespace bazaar::payments {

namespace {

constexpr std::size_t kMaxHeaderBytes = 4096;
constexpr std::size_t kMaxItems = 32;
constexpr std::size_t kHexDigestLen = 64;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<SignatureHeader> parse_signature_header(std::string_view header) {
    if (header.empty() || header.size() > kMaxHeaderBytes) return std::nullopt;
    SignatureHeader out;
    bool have_t = false;
    std::size_t items = 0;
    std::size_t start = 0;
    while (start <= header.size()) {
        std::size_t comma = header.find(',', start);
        if (comma == std::string_view::npos) comma = header.size();
        std::string_view item = trim(header.substr(start, comma - start));
        start = comma + 1;
        if (++items > kMaxItems) return std::nullopt;
        std::size_t eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0) return std::nullopt;
        std::string_view key = item.substr(0, eq);
        std::string_view value = item.substr(eq + 1);
        if (key == "t") {
            if (have_t || value.empty() || value.size() > 12) return std::nullopt;
            std::int64_t t = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
            if (ec != std::errc() || p != value.data() + value.size() || t < 0) return std::nullopt;
            out.timestamp = t;
            have_t = true;
        } else if (key == "v1") {
            if (value.empty()) return std::nullopt;
            out.v1.emplace_back(value);
        }
    }
    if (!have_t || out.v1.empty()) return std::nullopt;
    return out;
}

const char* describe(SignatureResult r) {
    switch (r) {
        case SignatureResult::kOk:
            return "signature verified";
        case SignatureResult::kMissing:
            return "missing Stripe-Signature header";
        case SignatureResult::kMalformed:
            return "malformed Stripe-Signature header";
        case SignatureResult::kNoMatch:
            return "no signature matches the payload";
        case SignatureResult::kStale:
            return "signature timestamp outside the tolerance";
    }
    return "bad signature";
}

std::string compute_v1(std::string_view secret, std::int64_t t, std::string_view payload) {
    std::string signed_payload = std::to_string(t);
    signed_payload += '.';
    signed_payload.append(payload);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_payload.data()), signed_payload.size(), md,
         &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex(static_cast<std::size_t>(len) * 2, '0');
    for (unsigned int i = 0; i < len; ++i) {
        hex[2 * i] = kHex[md[i] >> 4];
        hex[2 * i + 1] = kHex[md[i] & 0x0f];
    }
    return hex;
}

std::string make_signature_header(std::string_view secret, std::int64_t t,
                                  std::string_view payload) {
    return "t=" + std::to_string(t) + ",v1=" + compute_v1(secret, t, payload);
}

SignatureResult verify_signature(std::optional<std::string_view> header, std::string_view payload,
                                 const std::vector<std::string>& secrets, std::int64_t now_s,
                                 std::int64_t tolerance_s) {
    if (!header || trim(*header).empty()) return SignatureResult::kMissing;
    auto parsed = parse_signature_header(*header);
    if (!parsed) return SignatureResult::kMalformed;
    bool match = false;
    // Every pair is compared (no early exit) so the time taken does not tell
    // which secret or which position matched.
    for (const auto& secret : secrets) {
        if (secret.empty()) continue;
        std::string expected = compute_v1(secret, parsed->timestamp, payload);
        for (const auto& sig : parsed->v1) {
            if (sig.size() != kHexDigestLen) continue;
            if (CRYPTO_memcmp(sig.data(), expected.data(), kHexDigestLen) == 0) match = true;
        }
    }
    if (!match) return SignatureResult::kNoMatch;
    std::int64_t skew = now_s - parsed->timestamp;
    if (skew > tolerance_s || skew < -tolerance_s) return SignatureResult::kStale;
    return SignatureResult::kOk;
}

std::vector<std::string> parse_secret_list(std::string_view value) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= value.size()) {
        std::size_t comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        std::string_view item = trim(value.substr(start, comma - start));
        if (!item.empty()) out.emplace_back(item);
        start = comma + 1;
    }
    return out;
}

}  // namespace bazaar::payments

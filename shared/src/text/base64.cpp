#include "bazaar/text/base64.hpp"

#include <openssl/evp.h>

namespace bazaar::text {

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64url_encode(std::string_view bytes) {
    std::string out = base64_encode(bytes);
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    // EVP_DecodeBlock skips leading/trailing whitespace and accepts the
    // standard alphabet, so the input is checked character by character
    // first and mapped to the standard alphabet with its padding restored.
    if (text.size() % 4 == 1) return std::nullopt;
    std::string std_form;
    std_form.reserve(text.size() + 3);
    for (char c : text) {
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) return std::nullopt;
        std_form += c == '-' ? '+' : c == '_' ? '/' : c;
    }
    std::size_t pad = (4 - text.size() % 4) % 4;
    std_form.append(pad, '=');
    std::string out(3 * (std_form.size() / 4) + 1, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(std_form.data()),
                            static_cast<int>(std_form.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes: drop them.
    out.resize(static_cast<std::size_t>(n) - pad);
    // Leftover bits must be zero, or two encodings would decode alike.
    if (base64url_encode(out) != text) return std::nullopt;
    return out;
}

}  // namespace bazaar::text

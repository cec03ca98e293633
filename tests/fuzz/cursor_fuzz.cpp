// Pagination cursors (shared/src/catalog/cursor.cpp): the `cursor` query
// parameter is outside bytes, checked by base64url decoding and an HMAC.
//
// Input: a filter string, then the cursor text.
// Properties: base64url decode/encode round-trip both ways (one encoding per
// byte string); a cursor that decodes re-encodes to the very same text; any
// id encoded for a filter decodes to that id, and is refused for any other
// filter or key.
#include <fuzzer/FuzzedDataProvider.h>

#include "bazaar/catalog/cursor.hpp"
#include "bazaar/text/base64.hpp"
#include "fuzz_support.hpp"

using namespace bazaar;
using namespace bazaar::catalog;
using bazaar::fuzz::hex;

namespace {
const std::string kKey = "fuzz-cursor-key-0123456789abcdef";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const std::string filter = in.ConsumeRandomLengthString(100);
    const auto id = in.ConsumeIntegral<std::int64_t>();
    const std::string text = in.ConsumeRemainingBytesAsString();

    if (auto raw = bazaar::text::base64url_decode(text))
        FUZZ_CHECK(bazaar::text::base64url_encode(*raw) == text, hex(text));
    auto back = bazaar::text::base64url_decode(bazaar::text::base64url_encode(text));
    FUZZ_CHECK(back && *back == text, hex(text));

    std::int64_t decoded = 0;
    if (fuzz::accepts([&] { decoded = decode_cursor(text, filter, kKey); })) {
        FUZZ_CHECK(decoded >= 1, hex(text));
        FUZZ_CHECK(encode_cursor(decoded, filter, kKey) == text, hex(text));
    }

    if (id >= 1) {
        const std::string c = encode_cursor(id, filter, kKey);
        std::int64_t got = 0;
        FUZZ_CHECK(fuzz::accepts([&] { got = decode_cursor(c, filter, kKey); }) && got == id,
                   c + " for id " + std::to_string(id));
        FUZZ_CHECK(!fuzz::accepts([&] { decode_cursor(c, filter + "x", kKey); }), c);
        FUZZ_CHECK(!fuzz::accepts([&] { decode_cursor(c, filter, kKey + "x"); }), c);
    }
    return 0;
}

// Client messages of /ws (ws/protocol.cpp): every text frame a socket sends
// is outside bytes, and so are the Cookie and Origin headers of the handshake
// and (from a foreign publisher) the payloads on a room's channel.
//
// Input: a selector byte, then the bytes for one parser.
// Properties: parsing never throws; an invalid message always has a reason,
// and every frame the server would answer with is valid JSON whatever the
// input; a resume id re-formats to an id that parses back to itself; a cookie
// value found is a substring of the header; the Origin check is
// case-insensitive and "*" allows everything.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_support.hpp"
#include "ws/protocol.hpp"

using namespace bazaar;
using bazaar::fuzz::hex;

namespace {
bool is_json(const std::string& s) {
    return !nlohmann::json::parse(s, nullptr, false).is_discarded();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const int which = in.ConsumeIntegralInRange(0, 3);
    const std::string text = in.ConsumeRemainingBytesAsString();
    switch (which) {
        case 0: {
            ws::ClientMessage m = ws::parse_client_message(text);
            if (m.kind == ws::ClientMessage::Kind::kInvalid) {
                FUZZ_CHECK(!m.reason.empty(), hex(text));
                FUZZ_CHECK(is_json(ws::error_frame(m.reason)), hex(text));
            }
            if (m.kind == ws::ClientMessage::Kind::kResume) {
                std::string id =
                    std::to_string(m.last_event_id.ms) + "-" + std::to_string(m.last_event_id.seq);
                auto back = live::parse_event_id(id);
                FUZZ_CHECK(back && *back == m.last_event_id, hex(text));
            }
            FUZZ_CHECK(is_json(ws::resume_failed_frame(m.reason)), hex(text));
            break;
        }
        case 1: {
            auto v = ws::cookie_value(text, "accessToken");
            if (v) FUZZ_CHECK(text.find(*v) != std::string::npos, hex(text));
            break;
        }
        case 2: {
            FUZZ_CHECK(ws::origin_allowed({"*"}, text), hex(text));
            std::string upper = text;
            for (auto& c : upper)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            std::string lower = text;
            for (auto& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (!text.empty())
                FUZZ_CHECK(ws::origin_allowed({lower}, upper) == ws::origin_allowed({lower}, lower),
                           hex(text));
            break;
        }
        default:
            (void)ws::frame_event_id(text);
            break;
    }
    return 0;
}

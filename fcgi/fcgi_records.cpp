#include "fcgi_records.hpp"

namespace bazaar::http::fcgi {

namespace {
constexpr std::uint8_t kVersion1 = 1;
constexpr std::uint8_t kKeepConnFlag = 1;
constexpr std::uint16_t kBeginBodySize = 8;
}  // namespace

bool read_header(std::string_view bytes, RecordHeader& out) {
    if (bytes.size() < kHeaderSize) return false;
    auto u = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    out.version = u(0);
    out.type = u(1);
    out.request_id = static_cast<std::uint16_t>((u(2) << 8) | u(3));
    out.content_length = static_cast<std::uint16_t>((u(4) << 8) | u(5));
    out.padding_length = u(6);
    return true;
}

RequestScan scan_request(std::string_view bytes) {
    using Status = RequestScan::Status;
    RequestScan scan;
    auto invalid = [&](const char* why) {
        scan.status = Status::kInvalid;
        scan.why = why;
        return scan;
    };
    bool begun = false, params_done = false;
    std::size_t pos = 0;
    RecordHeader h;
    while (read_header(bytes.substr(pos), h)) {
        if (h.version != kVersion1) return invalid("unsupported FastCGI version");
        // The header alone decides validity; the content may still be on its way.
        const bool whole = bytes.size() - pos >= h.total();
        if (h.request_id == 0) {
            // A management record: libfcgi answers it (GET_VALUES) or ignores it.
            if (h.type == kBeginRequest || h.type == kParams || h.type == kStdin)
                return invalid("a request stream record with request id 0");
        } else if (h.type == kBeginRequest) {
            if (begun) return invalid("a second BEGIN_REQUEST (multiplexing)");
            if (h.content_length != kBeginBodySize)
                return invalid("BEGIN_REQUEST body is not 8 bytes");
            if (!whole) return scan;
            const auto role = static_cast<std::uint16_t>(
                (static_cast<std::uint8_t>(bytes[pos + kHeaderSize]) << 8) |
                static_cast<std::uint8_t>(bytes[pos + kHeaderSize + 1]));
            if (role != 1) return invalid("not the responder role");
            begun = true;
            scan.request_id = h.request_id;
            scan.keep_conn =
                (static_cast<std::uint8_t>(bytes[pos + kHeaderSize + 2]) & kKeepConnFlag) != 0;
        } else {
            if (!begun) return invalid("a stream record before BEGIN_REQUEST");
            if (h.request_id != scan.request_id)
                return invalid("a record of another request (multiplexing)");
            if (h.type == kParams) {
                if (params_done) return invalid("PARAMS after the end of PARAMS");
                if (h.content_length == 0 && whole) params_done = true;
            } else if (h.type == kStdin) {
                if (!params_done) return invalid("STDIN before the end of PARAMS");
                if (h.content_length == 0 && whole) {
                    scan.status = Status::kComplete;
                    scan.end = pos + h.total();
                    return scan;
                }
            } else {
                return invalid("a record type a responder does not receive");
            }
        }
        if (!whole) break;
        pos += h.total();
    }
    scan.status = params_done ? Status::kParamsComplete : Status::kNeedMore;
    return scan;
}

}  // namespace bazaar::http::fcgi

// The FastCGI record scanner of the event-driven front (fcgi/fcgi_records.cpp):
// it reads bytes a peer sent before libfcgi may read them.
//
// Properties, on arbitrary bytes: the scan never reads out of bounds; a
// complete request's end lies within the input and scanning exactly that
// prefix gives the same verdict; no proper prefix of a complete request is
// complete or invalid (the scanner never judges before the bytes are there).
// On a well-formed request built from the input (params and body split
// into records of fuzzed sizes, with padding): complete, ending where it
// was built to end.
#include <fuzzer/FuzzedDataProvider.h>

#include "fcgi_records.hpp"
#include "fuzz_support.hpp"

using bazaar::fuzz::hex;
using namespace bazaar::http::fcgi;
using Status = RequestScan::Status;

namespace {

std::string record(std::uint8_t type, std::uint16_t id, std::string_view content,
                   std::uint8_t padding) {
    std::string r{1,
                  static_cast<char>(type),
                  static_cast<char>(id >> 8),
                  static_cast<char>(id & 0xff),
                  static_cast<char>(content.size() >> 8),
                  static_cast<char>(content.size() & 0xff),
                  static_cast<char>(padding),
                  0};
    r += content;
    r.append(padding, 'p');
    return r;
}

std::string split(FuzzedDataProvider& in, std::uint8_t type, std::uint16_t id,
                  std::string_view data) {
    std::string out;
    while (!data.empty()) {
        std::size_t n =
            in.ConsumeIntegralInRange<std::size_t>(1, std::min<std::size_t>(data.size(), 65535));
        out += record(type, id, data.substr(0, n), in.ConsumeIntegral<std::uint8_t>());
        data.remove_prefix(n);
    }
    return out + record(type, id, "", in.ConsumeIntegralInRange<std::uint8_t>(0, 8));
}

void check_prefixes(std::string_view s, const RequestScan& whole) {
    if (whole.status != Status::kComplete) return;
    FUZZ_CHECK(whole.end <= s.size(), hex(s));
    auto again = scan_request(s.substr(0, whole.end));
    FUZZ_CHECK(again.status == Status::kComplete && again.end == whole.end, hex(s));
    for (std::size_t n = 0; n < whole.end; n += 1 + n / 16) {
        auto p = scan_request(s.substr(0, n));
        FUZZ_CHECK(p.status == Status::kNeedMore || p.status == Status::kParamsComplete, hex(s));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    check_prefixes(raw, scan_request(raw));

    FuzzedDataProvider in(data, size);
    auto id = in.ConsumeIntegralInRange<std::uint16_t>(1, 65535);
    bool keep = in.ConsumeBool();
    std::string params = in.ConsumeRandomLengthString(4096);
    std::string body = in.ConsumeRandomLengthString(70000);
    std::string req =
        record(kBeginRequest, id, std::string{0, 1, static_cast<char>(keep), 0, 0, 0, 0, 0}, 0);
    req += split(in, kParams, id, params);
    req += split(in, kStdin, id, body);
    auto s = scan_request(req + in.ConsumeRemainingBytesAsString());
    FUZZ_CHECK(s.status == Status::kComplete, hex(params));
    FUZZ_CHECK(s.end == req.size(), hex(params));
    FUZZ_CHECK(s.request_id == id && s.keep_conn == keep, hex(params));
    check_prefixes(req, scan_request(req));
    return 0;
}

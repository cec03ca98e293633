// Where one FastCGI request ends in bytes not yet read from a kept nginx
// connection. The event loop (server.cpp) peeks at a connection's socket
// buffer (MSG_PEEK) and asks this scanner whether the whole request is there
// (BEGIN_REQUEST, the PARAMS stream up to its empty record, the STDIN stream
// up to its empty record). Only then does it let libfcgi read the request:
// libfcgi's reads block, and a read of bytes that are all in the buffer does
// not. A connection that sent half a request therefore costs no thread; it
// waits in epoll until the rest arrives.
//
// The scanner checks the framing libfcgi relies on and refuses what a
// responder behind nginx never receives (multiplexed request ids, other
// roles' streams, a stream record before BEGIN_REQUEST), so a refused
// connection is closed before libfcgi sees it. Management records (request id
// 0, e.g. FCGI_GET_VALUES) are stepped over: libfcgi answers them itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bazaar::http::fcgi {

enum RecordType : std::uint8_t {
    kBeginRequest = 1,
    kAbortRequest = 2,
    kEndRequest = 3,
    kParams = 4,
    kStdin = 5,
    kStdout = 6,
    kStderr = 7,
    kData = 8,
    kGetValues = 9,
};

constexpr std::size_t kHeaderSize = 8;

struct RecordHeader {
    std::uint8_t version = 0;
    std::uint8_t type = 0;
    std::uint16_t request_id = 0;
    std::uint16_t content_length = 0;
    std::uint8_t padding_length = 0;
    // Header, content and padding.
    std::size_t total() const { return kHeaderSize + content_length + padding_length; }
};

// The header at the start of `bytes`; false when fewer than 8 bytes.
bool read_header(std::string_view bytes, RecordHeader& out);

struct RequestScan {
    enum class Status {
        kNeedMore,        // not even the PARAMS stream is complete
        kParamsComplete,  // BEGIN_REQUEST and PARAMS are there, STDIN is not complete
        kComplete,        // the whole request, up to the empty STDIN record
        kInvalid,         // not a request libfcgi should read: close the connection
    };
    Status status = Status::kNeedMore;
    std::size_t end = 0;  // kComplete: bytes of the request (management records included)
    std::uint16_t request_id = 0;
    bool keep_conn = false;  // FCGI_KEEP_CONN in BEGIN_REQUEST
    const char* why = "";    // kInvalid: what was wrong
};

// Scans the request at the start of `bytes` (the socket's unread bytes).
RequestScan scan_request(std::string_view bytes);

}  // namespace bazaar::http::fcgi

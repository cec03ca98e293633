// The FastCGI record scanner of the event-driven front (fcgi/fcgi_records.hpp)
// and the loop/pool split of the routes (fcgi/loop_routes.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fcgi_records.hpp"
#include "loop_routes.hpp"
#include "router.hpp"
#include "routes.hpp"

using namespace bazaar::http;
using namespace bazaar::http::fcgi;
using Status = RequestScan::Status;

namespace {

std::string record(std::uint8_t type, std::uint16_t id, std::string_view content,
                   std::uint8_t padding = 0, std::uint8_t version = 1) {
    std::string r;
    r += static_cast<char>(version);
    r += static_cast<char>(type);
    r += static_cast<char>(id >> 8);
    r += static_cast<char>(id & 0xff);
    r += static_cast<char>(content.size() >> 8);
    r += static_cast<char>(content.size() & 0xff);
    r += static_cast<char>(padding);
    r += '\0';
    r += content;
    r.append(padding, '\0');
    return r;
}

std::string begin(std::uint16_t id = 1, bool keep = true, std::uint16_t role = 1) {
    std::string body{static_cast<char>(role >> 8),
                     static_cast<char>(role & 0xff),
                     static_cast<char>(keep ? 1 : 0),
                     0,
                     0,
                     0,
                     0,
                     0};
    return record(kBeginRequest, id, body);
}

std::string pair(std::string_view name, std::string_view value) {
    std::string p;
    p += static_cast<char>(name.size());
    p += static_cast<char>(value.size());
    p += name;
    p += value;
    return p;
}

// A GET as nginx sends it: params split over two records, empty STDIN.
std::string get_request(std::uint16_t id = 1) {
    return begin(id) + record(kParams, id, pair("REQUEST_METHOD", "GET"), 3) +
           record(kParams, id, pair("REQUEST_URI", "/api/v1/ping")) + record(kParams, id, "") +
           record(kStdin, id, "");
}

}  // namespace

TEST(FcgiRecords, WholeRequestIsCompleteAndEndsAtTheEmptyStdin) {
    std::string req = get_request();
    auto s = scan_request(req);
    EXPECT_EQ(s.status, Status::kComplete);
    EXPECT_EQ(s.end, req.size());
    EXPECT_EQ(s.request_id, 1);
    EXPECT_TRUE(s.keep_conn);
}

TEST(FcgiRecords, EveryProperPrefixWaitsForMore) {
    std::string req = begin(7, false) + record(kParams, 7, pair("CONTENT_LENGTH", "5")) +
                      record(kParams, 7, "") + record(kStdin, 7, "hello", 3) +
                      record(kStdin, 7, "");
    const std::size_t params_end = begin().size() +
                                   record(kParams, 7, pair("CONTENT_LENGTH", "5")).size() +
                                   record(kParams, 7, "").size();
    for (std::size_t n = 0; n < req.size(); ++n) {
        auto s = scan_request(std::string_view(req).substr(0, n));
        Status want = n >= params_end ? Status::kParamsComplete : Status::kNeedMore;
        EXPECT_EQ(s.status, want) << "prefix of " << n << " bytes";
    }
    auto s = scan_request(req);
    EXPECT_EQ(s.status, Status::kComplete);
    EXPECT_FALSE(s.keep_conn);
    EXPECT_EQ(s.request_id, 7);
}

TEST(FcgiRecords, BytesAfterTheRequestAreNotPartOfIt) {
    std::string req = get_request();
    auto s = scan_request(req + get_request().substr(0, 11));
    EXPECT_EQ(s.status, Status::kComplete);
    EXPECT_EQ(s.end, req.size());
}

TEST(FcgiRecords, ManagementRecordsAreSteppedOver) {
    std::string mgmt = record(kGetValues, 0, pair("FCGI_MPXS_CONNS", ""));
    std::string req = mgmt + get_request();
    auto s = scan_request(req);
    EXPECT_EQ(s.status, Status::kComplete);
    EXPECT_EQ(s.end, req.size());
}

TEST(FcgiRecords, RefusesWhatAResponderBehindNginxNeverReceives) {
    EXPECT_EQ(scan_request(record(kBeginRequest, 1, std::string(8, '\0'), 0, 2)).status,
              Status::kInvalid)
        << "version 2";
    EXPECT_EQ(scan_request(record(kStdin, 1, "x")).status, Status::kInvalid)
        << "STDIN before BEGIN";
    EXPECT_EQ(scan_request(record(kParams, 1, "")).status, Status::kInvalid)
        << "PARAMS before BEGIN";
    EXPECT_EQ(scan_request(begin(1, true, 2)).status, Status::kInvalid) << "authorizer role";
    EXPECT_EQ(scan_request(record(kBeginRequest, 1, "short")).status, Status::kInvalid);
    EXPECT_EQ(scan_request(begin(1) + begin(2)).status, Status::kInvalid) << "multiplexing";
    EXPECT_EQ(scan_request(begin(1) + record(kParams, 2, "")).status, Status::kInvalid)
        << "other id";
    EXPECT_EQ(scan_request(begin(1) + record(kStdin, 1, "x")).status, Status::kInvalid)
        << "STDIN before the end of PARAMS";
    EXPECT_EQ(scan_request(begin(1) + record(kParams, 1, "") + record(kParams, 1, "")).status,
              Status::kInvalid)
        << "PARAMS after their end";
    EXPECT_EQ(scan_request(begin(1) + record(kData, 1, "x")).status, Status::kInvalid)
        << "filter data";
    EXPECT_EQ(scan_request(begin(1) + record(kAbortRequest, 1, "")).status, Status::kInvalid);
    EXPECT_EQ(scan_request(record(kStdin, 0, "")).status, Status::kInvalid)
        << "stream record with id 0";
}

TEST(FcgiRecords, AHeaderIsJudgedBeforeItsContentArrives) {
    // The stray-version header alone is enough to refuse the connection.
    std::string bad = record(kParams, 1, "abc", 0, 9).substr(0, 8);
    EXPECT_EQ(scan_request(begin() + bad).status, Status::kInvalid);
    // A valid header with half its content waits.
    std::string half = record(kParams, 1, pair("A", "B")).substr(0, 10);
    EXPECT_EQ(scan_request(begin() + half).status, Status::kNeedMore);
}

TEST(FcgiRecords, EmptyInputAndNulBytesAreHandled) {
    EXPECT_EQ(scan_request("").status, Status::kNeedMore);
    EXPECT_EQ(scan_request(std::string(3, '\0')).status, Status::kNeedMore);
    EXPECT_EQ(scan_request(std::string(8, '\0')).status, Status::kInvalid);
    RecordHeader h;
    EXPECT_FALSE(read_header("1234567", h));
    ASSERT_TRUE(read_header(record(kStdin, 0x1234, std::string(300, 'x'), 5), h));
    EXPECT_EQ(h.request_id, 0x1234);
    EXPECT_EQ(h.content_length, 300);
    EXPECT_EQ(h.total(), 8u + 300 + 5);
}

TEST(LoopRoutes, EveryLoopRouteExistsAndWritesStayOnThePool) {
    Router router;
    register_all_routes(router);
    auto names = router.metric_names();
    for (auto r : loop_routes()) {
        EXPECT_NE(std::find(names.begin(), names.end(), r), names.end())
            << r << " is listed as a loop route but no such route is registered";
    }
    EXPECT_TRUE(runs_on_loop("GET /api/v1/ping"));
    EXPECT_TRUE(runs_on_loop("GET /api/v1/books/:id"));
    for (const auto& n : names) {
        if (n.rfind("GET ", 0) != 0 && n != "unmatched") {
            EXPECT_FALSE(runs_on_loop(n)) << n << ": a write must not run on a loop";
        }
    }
    EXPECT_FALSE(runs_on_loop("POST /api/v1/auth/login"));
    EXPECT_FALSE(runs_on_loop("GET /api/v1/health"));
}

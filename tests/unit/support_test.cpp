// Logging, time/id helpers and the shared-memory metrics.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/migrations.hpp"
#include "bazaar/time.hpp"

TEST(Log, LineIsOneJsonObjectWithRequestIdAndFields) {
    bazaar::log::init("test", bazaar::log::Level::kInfo);
    bazaar::log::set_request_id("req-1");
    nlohmann::json fields = {{"status", 200}, {"path", "/x"}};
    std::string line = bazaar::log::format_line(bazaar::log::Level::kInfo, "hello", &fields);
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["msg"], "hello");
    EXPECT_EQ(j["requestId"], "req-1");
    EXPECT_EQ(j["status"], 200);
    EXPECT_EQ(j["level"], "info");
    EXPECT_EQ(j["proc"], "test");
    bazaar::log::set_request_id("");
}

TEST(Log, InvalidUtf8NeverThrows) {
    nlohmann::json fields = {{"v", std::string("\xff\xfe")}};
    EXPECT_NO_THROW(bazaar::log::format_line(bazaar::log::Level::kWarn, "x", &fields));
}

TEST(Log, LevelsFilter) {
    bazaar::log::init("test", bazaar::log::Level::kWarn);
    EXPECT_FALSE(bazaar::log::enabled(bazaar::log::Level::kInfo));
    EXPECT_TRUE(bazaar::log::enabled(bazaar::log::Level::kError));
    EXPECT_THROW(bazaar::log::parse_level("loud"), std::invalid_argument);
    bazaar::log::init("test", bazaar::log::Level::kInfo);
}

TEST(Time, Rfc3339HasMillisecondsAndZ) {
    bazaar::SysTime t{std::chrono::milliseconds(1795780800123LL)};
    EXPECT_EQ(bazaar::format_rfc3339(t), "2026-11-27T12:00:00.123Z");
    bazaar::SysTime epoch{};
    EXPECT_EQ(bazaar::format_rfc3339(epoch), "1970-01-01T00:00:00.000Z");
}

TEST(Ids, UuidV4ShapeAndUniqueness) {
    std::regex re("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto u = bazaar::uuid_v4();
        EXPECT_TRUE(std::regex_match(u, re)) << u;
        seen.insert(u);
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_EQ(bazaar::random_hex(16).size(), 32u);
}

TEST(Metrics, SharedFileIsSeenByEveryMapping) {
    std::string path = ::testing::TempDir() + "/metrics-" + std::to_string(getpid()) + ".shm";
    std::vector<std::string> routes = {"unmatched", "GET /a", "GET /b"};
    bazaar::metrics::open(path, routes);
    bazaar::metrics::observe_request(1, 200, 0.0007);
    bazaar::metrics::observe_request(1, 200, 0.2);
    bazaar::metrics::observe_request(2, 418, 0.001);
    bazaar::metrics::inc(bazaar::metrics::Counter::kCacheHit, 3);
    // A second open of the same file (another process) keeps the counts.
    bazaar::metrics::open(path, routes);
    EXPECT_EQ(bazaar::metrics::request_count(1, 200), 2u);
    EXPECT_EQ(bazaar::metrics::counter_value(bazaar::metrics::Counter::kCacheHit), 3u);
    std::string text = bazaar::metrics::render();
    EXPECT_NE(text.find("bazaar_http_requests_total{route=\"GET /a\",status=\"200\"} 2"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("status=\"other\"} 1"), std::string::npos);
    EXPECT_NE(
        text.find("bazaar_http_request_duration_seconds_bucket{route=\"GET /a\",le=\"0.001\"} 1"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("bazaar_http_request_duration_seconds_count{route=\"GET /a\"} 2"),
              std::string::npos);
    EXPECT_NE(text.find("bazaar_cache_hits_total 3"), std::string::npos);
    // A different route table (a new binary) starts from zero.
    bazaar::metrics::open(path, {"unmatched", "GET /c"});
    EXPECT_EQ(bazaar::metrics::request_count(1, 200), 0u);
    std::string stem = "metrics-" + std::to_string(getpid()) + ".";
    for (const auto& e : std::filesystem::directory_iterator(::testing::TempDir()))
        if (e.path().filename().string().rfind(stem, 0) == 0) std::filesystem::remove(e.path());
}

TEST(Migrations, FilesAreOrderedAndChecksummed) {
    auto files = bazaar::list_migrations(std::string(BAZAAR_SOURCE_DIR) + "/migrations");
    ASSERT_FALSE(files.empty());
    EXPECT_EQ(files[0].version, "0001_init");
    for (size_t i = 1; i < files.size(); ++i) EXPECT_LT(files[i - 1].version, files[i].version);
    EXPECT_EQ(files[0].checksum.size(), 64u);
    EXPECT_EQ(bazaar::sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Issue 7: a process with a new route table must never shrink the file an
// older process still maps (it would die of SIGBUS on its next count): each
// layout has a file of its own, and the old one keeps its size and counts.
TEST(Metrics, ANewLayoutNeverTruncatesTheFileAnOlderProcessMaps) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(::testing::TempDir()) / ("metrics-ver-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::string path = (dir / "metrics.shm").string();
    std::vector<std::string> old_routes = {"unmatched", "GET /a", "GET /b", "GET /c"};
    bazaar::metrics::open(path, old_routes);
    bazaar::metrics::observe_request(1, 200, 0.001);
    bazaar::metrics::observe_request(1, 200, 0.001);
    std::map<std::string, std::uintmax_t> before;
    for (const auto& e : fs::directory_iterator(dir)) before[e.path().string()] = e.file_size();
    ASSERT_FALSE(before.empty());

    bazaar::metrics::open(path, {"unmatched", "GET /z"});  // the new binary
    bazaar::metrics::observe_request(1, 201, 0.001);
    for (const auto& [file, size] : before) EXPECT_EQ(fs::file_size(file), size) << file;

    bazaar::metrics::open(path, old_routes);  // the old process's view is intact
    EXPECT_EQ(bazaar::metrics::request_count(1, 200), 2u);
    EXPECT_EQ(bazaar::metrics::request_count(1, 201), 0u);
    fs::remove_all(dir);
}

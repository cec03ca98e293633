// Cron expressions of repeatable jobs (shared/src/queue/cron.cpp): they
// arrive from the admin API and from code, with an IANA zone.
//
// Input: a zone pick (or raw zone text), an instant, then the expression.
// Properties: refusals are 400s naming "cron" or "timezone"; an accepted
// expression fires (parse refuses those that never can) strictly after the
// given instant and within 401 years; nothing fires in between (asking
// again from any earlier point of the gap gives the same time); the next
// fire after that is strictly later; re-parsing expression() fires alike.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>

#include "bazaar/queue/cron.hpp"
#include "fuzz_support.hpp"

using namespace bazaar;
using namespace std::chrono;
using bazaar::fuzz::hex;

namespace {

// Zones with DST at odd offsets and hours, plus UTC.
const char* const kZones[] = {"UTC",
                              "Europe/Berlin",
                              "America/New_York",
                              "Australia/Lord_Howe",
                              "Asia/Kathmandu",
                              "Pacific/Chatham",
                              "America/Santiago",
                              "Asia/Tehran",
                              "Europe/Dublin",
                              "Africa/Casablanca"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const auto pick = in.ConsumeIntegralInRange<unsigned>(0, std::size(kZones));
    const std::string zone =
        pick < std::size(kZones) ? kZones[pick] : in.ConsumeRandomLengthString(40);
    // 1900..2100 in seconds: far beyond any real schedule, and with the 401
    // years a search may span still inside the clock (int64 ns ends in 2262).
    const auto after_s = in.ConsumeIntegralInRange<std::int64_t>(-2'208'988'800, 4'102'444'800);
    const auto sub = in.ConsumeIntegralInRange<std::int64_t>(0, 999'999'999);
    const std::string expr = in.ConsumeRemainingBytesAsString();
    const std::string ctx = hex(expr) + " tz " + zone + " at " + std::to_string(after_s);

    std::optional<queue::CronExpression> cron;
    if (!fuzz::accepts([&] { cron = queue::CronExpression::parse(expr, zone); })) return 0;

    const system_clock::time_point after = system_clock::time_point{seconds{after_s}} +
                                           duration_cast<system_clock::duration>(nanoseconds{sub});
    system_clock::time_point next;
    FUZZ_CHECK(fuzz::accepts([&] { next = cron->next_after(after); }), ctx);
    FUZZ_CHECK(next > after, ctx);
    // In seconds: 401 years of nanoseconds do not fit in the clock's rep.
    FUZZ_CHECK(
        duration_cast<seconds>(next - after) <= duration_cast<seconds>(hours{24 * (146097 + 366)}),
        ctx);
    FUZZ_CHECK(time_point_cast<seconds>(next) == next, ctx);

    // No fire time in (after, next): asking from a point inside gives next.
    const auto mid = after + (next - after) / 2;
    FUZZ_CHECK(cron->next_after(mid) == next, ctx);
    if (next - seconds{1} >= after) FUZZ_CHECK(cron->next_after(next - seconds{1}) == next, ctx);
    system_clock::time_point later;
    FUZZ_CHECK(fuzz::accepts([&] { later = cron->next_after(next); }), ctx);
    FUZZ_CHECK(later > next, ctx);

    auto again = queue::CronExpression::parse(cron->expression(), cron->timezone());
    FUZZ_CHECK(again.next_after(after) == next, ctx);
    return 0;
}

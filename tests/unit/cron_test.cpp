#include <gtest/gtest.h>

#include <date/date.h>
#include <date/tz.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/error.hpp"
#include "bazaar/queue/cron.hpp"

using bazaar::Error;
using bazaar::ErrorCode;
using bazaar::queue::CronExpression;
using Clock = std::chrono::system_clock;

namespace {

Clock::time_point utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
    return date::sys_days{date::year{y} / mo / d} + std::chrono::hours{h} +
           std::chrono::minutes{mi} + std::chrono::seconds{s};
}

// Seconds are printed so that a result off the minute grid shows up in the diff.
std::string show(Clock::time_point t) {
    return date::format("%F %T", date::floor<std::chrono::seconds>(t));
}

std::string show_local(Clock::time_point t, std::string_view tz) {
    return date::format(
        "%F %T %Z", date::zoned_time{date::locate_zone(tz), date::floor<std::chrono::seconds>(t)});
}

std::string next(std::string_view expr, Clock::time_point after, std::string_view tz = "UTC") {
    return show(CronExpression::parse(expr, tz).next_after(after));
}

// The next `n` fire times, each computed from the previous one.
std::vector<std::string> run(std::string_view expr, Clock::time_point after, int n,
                             std::string_view tz = "UTC") {
    const auto cron = CronExpression::parse(expr, tz);
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
        after = cron.next_after(after);
        out.push_back(show(after));
    }
    return out;
}

// Asserts parse() rejects `expr` with one issue on `field` whose reason mentions `mention`.
void expect_rejected(std::string_view expr, std::string_view mention, std::string_view tz = "UTC",
                     std::string_view field = "cron") {
    SCOPED_TRACE("expr '" + std::string(expr) + "' tz '" + std::string(tz) + "'");
    try {
        CronExpression::parse(expr, tz);
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
        ASSERT_EQ(e.details().size(), 1u);
        EXPECT_EQ(e.details()[0].field, field);
        EXPECT_NE(e.details()[0].reason.find(mention), std::string::npos) << e.details()[0].reason;
    }
}

}  // namespace

/* ---- syntax forms ---- */

TEST(CronSyntax, EveryMinuteFiresAtTheNextWholeMinute) {
    EXPECT_EQ(next("* * * * *", utc(2026, 5, 10, 10, 15, 30)), "2026-05-10 10:16:00");
}

TEST(CronSyntax, ListPicksTheNextListedValue) {
    EXPECT_EQ(run("5,10,45 * * * *", utc(2026, 5, 10, 10, 10), 3),
              (std::vector<std::string>{"2026-05-10 10:45:00", "2026-05-10 11:05:00",
                                        "2026-05-10 11:10:00"}));
}

TEST(CronSyntax, RangeIncludesBothEnds) {
    EXPECT_EQ(run("0 9-11 * * *", utc(2026, 5, 10, 8), 4),
              (std::vector<std::string>{"2026-05-10 09:00:00", "2026-05-10 10:00:00",
                                        "2026-05-10 11:00:00", "2026-05-11 09:00:00"}));
}

TEST(CronSyntax, StarStepCountsFromTheFieldMinimum) {
    EXPECT_EQ(next("*/15 * * * *", utc(2026, 5, 10, 10, 46)), "2026-05-10 11:00:00");
    EXPECT_EQ(next("*/15 * * * *", utc(2026, 5, 10, 10, 0)), "2026-05-10 10:15:00");
    // 1-31/10 starts at 1, not 0.
    EXPECT_EQ(run("0 0 */10 * *", utc(2026, 5, 1), 4),
              (std::vector<std::string>{"2026-05-11 00:00:00", "2026-05-21 00:00:00",
                                        "2026-05-31 00:00:00", "2026-06-01 00:00:00"}));
}

TEST(CronSyntax, RangeStep) {
    EXPECT_EQ(run("0 8-18/4 * * *", utc(2026, 5, 10), 4),
              (std::vector<std::string>{"2026-05-10 08:00:00", "2026-05-10 12:00:00",
                                        "2026-05-10 16:00:00", "2026-05-11 08:00:00"}));
}

TEST(CronSyntax, ValueStepRunsToTheEndOfTheField) {
    EXPECT_EQ(run("10/20 * * * *", utc(2026, 5, 10, 10), 4),
              (std::vector<std::string>{"2026-05-10 10:10:00", "2026-05-10 10:30:00",
                                        "2026-05-10 10:50:00", "2026-05-10 11:10:00"}));
}

TEST(CronSyntax, BlanksAroundAndBetweenFieldsAreFlexible) {
    EXPECT_EQ(next(" \t0\t9   *  * *  ", utc(2026, 5, 10, 10)), "2026-05-11 09:00:00");
}

TEST(CronSyntax, MonthNamesAreCaseInsensitive) {
    EXPECT_EQ(run("0 0 1 jan,Jul *", utc(2026, 2, 1), 2),
              (std::vector<std::string>{"2026-07-01 00:00:00", "2027-01-01 00:00:00"}));
    EXPECT_EQ(next("0 0 1 MAR-may *", utc(2026, 5, 1)), "2027-03-01 00:00:00");
}

TEST(CronSyntax, WeekdayNamesAndRanges) {
    // 2026-05-08 is a Friday.
    EXPECT_EQ(next("0 9 * * mon-FRI", utc(2026, 5, 8, 10)), "2026-05-11 09:00:00");
    EXPECT_EQ(next("0 9 * * Sat,sun", utc(2026, 5, 8, 10)), "2026-05-09 09:00:00");
}

TEST(CronSyntax, SundayIsZeroSevenOrSun) {
    // 2026-05-07 is a Thursday; the next Sunday is 2026-05-10.
    for (const char* expr : {"0 0 * * 0", "0 0 * * 7", "0 0 * * SUN"}) {
        EXPECT_EQ(next(expr, utc(2026, 5, 7, 12)), "2026-05-10 00:00:00") << expr;
    }
    EXPECT_EQ(run("0 0 * * 5-7", utc(2026, 5, 7, 12), 4),
              (std::vector<std::string>{"2026-05-08 00:00:00", "2026-05-09 00:00:00",
                                        "2026-05-10 00:00:00", "2026-05-15 00:00:00"}));
}

TEST(CronSyntax, MacrosExpandToTheirSchedules) {
    const auto after = utc(2026, 5, 10, 10, 15);  // a Sunday
    EXPECT_EQ(next("@yearly", after), "2027-01-01 00:00:00");
    EXPECT_EQ(next("@annually", after), "2027-01-01 00:00:00");
    EXPECT_EQ(next("@monthly", after), "2026-06-01 00:00:00");
    EXPECT_EQ(next("@weekly", after), "2026-05-17 00:00:00");
    EXPECT_EQ(next("@daily", after), "2026-05-11 00:00:00");
    EXPECT_EQ(next("@midnight", after), "2026-05-11 00:00:00");
    EXPECT_EQ(next("@hourly", after), "2026-05-10 11:00:00");
    EXPECT_EQ(next("@DAILY", after), "2026-05-11 00:00:00");
}

/* ---- next_after ---- */

TEST(CronNext, IsStrictlyAfterAMatchingInstant) {
    const auto cron = CronExpression::parse("30 10 * * *");
    EXPECT_EQ(show(cron.next_after(utc(2026, 5, 10, 10, 30))), "2026-05-11 10:30:00");
    EXPECT_EQ(show(cron.next_after(utc(2026, 5, 10, 10, 30) + std::chrono::milliseconds{500})),
              "2026-05-11 10:30:00");
    EXPECT_EQ(show(cron.next_after(utc(2026, 5, 10, 10, 30) - std::chrono::nanoseconds{1})),
              "2026-05-10 10:30:00");
}

TEST(CronNext, ResultIsOnTheMinuteGrid) {
    const auto t =
        CronExpression::parse("* * * * *")
            .next_after(utc(2026, 5, 10, 10, 15, 59) + std::chrono::microseconds{999999});
    EXPECT_EQ(t.time_since_epoch() % std::chrono::minutes{1}, Clock::duration::zero());
    EXPECT_EQ(show(t), "2026-05-10 10:16:00");
}

TEST(CronNext, MonthAndYearRolloverSkipShortMonths) {
    EXPECT_EQ(run("0 0 31 * *", utc(2026, 3, 31), 2),
              (std::vector<std::string>{"2026-05-31 00:00:00", "2026-07-31 00:00:00"}));
    EXPECT_EQ(next("0 0 1 1 *", utc(2026, 6, 1)), "2027-01-01 00:00:00");
    EXPECT_EQ(next("59 23 31 12 *", utc(2026, 12, 31, 23, 59)), "2027-12-31 23:59:00");
}

TEST(CronNext, LeapDayFiresOnlyInLeapYears) {
    EXPECT_EQ(run("0 0 29 2 *", utc(2026, 1, 1), 2),
              (std::vector<std::string>{"2028-02-29 00:00:00", "2032-02-29 00:00:00"}));
    // 2100 is not a leap year.
    EXPECT_EQ(next("0 0 29 2 *", utc(2097, 1, 1)), "2104-02-29 00:00:00");
}

TEST(CronNext, SparseScheduleIsFoundBeyondFiveYears) {
    // 29 February that is a Sunday ("*/7" over 0-7 is Sunday only, and its
    // leading '*' keeps the AND rule): 2032, 2060, 2088, then 2128 across 2100.
    EXPECT_EQ(next("0 0 29 2 */7", utc(2026, 1, 1)), "2032-02-29 00:00:00");
    EXPECT_EQ(next("0 0 29 2 */7", utc(2032, 3, 1)), "2060-02-29 00:00:00");
    EXPECT_EQ(next("0 0 29 2 */7", utc(2088, 3, 1)), "2128-02-29 00:00:00");
}

TEST(CronNext, ThrowsWhenTheNextFireTimeIsBeyondTheClock) {
    // After 2252 the next Sunday 29 February is in 2280, past system_clock's
    // nanosecond range (April 2262).
    const auto cron = CronExpression::parse("0 0 29 2 */7");
    EXPECT_EQ(show(cron.next_after(utc(2224, 3, 1))), "2252-02-29 00:00:00");
    try {
        cron.next_after(utc(2252, 3, 1));
        FAIL() << "returned a time";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
        ASSERT_EQ(e.details().size(), 1u);
        EXPECT_EQ(e.details()[0].field, "cron");
    }
}

/* ---- day-of-month / day-of-week rule ---- */

TEST(CronDays, BothRestrictedMatchEither) {
    // The 13th or any Friday; 2026-04-13 is a Monday.
    EXPECT_EQ(run("0 0 13 * 5", utc(2026, 4, 1), 4),
              (std::vector<std::string>{"2026-04-03 00:00:00", "2026-04-10 00:00:00",
                                        "2026-04-13 00:00:00", "2026-04-17 00:00:00"}));
}

TEST(CronDays, StarPrefixedFieldMeansBothMustMatch) {
    // Odd days that are Mondays.
    EXPECT_EQ(run("0 0 */2 * 1", utc(2026, 5, 1), 3),
              (std::vector<std::string>{"2026-05-11 00:00:00", "2026-05-25 00:00:00",
                                        "2026-06-01 00:00:00"}));
    // The same days written without '*' are restricted: odd days or Mondays.
    EXPECT_EQ(next("0 0 1-31/2 * 1", utc(2026, 5, 1)), "2026-05-03 00:00:00");
}

TEST(CronDays, UnrestrictedWeekdayLeavesDayOfMonthAlone) {
    EXPECT_EQ(run("0 0 15 * *", utc(2026, 5, 15), 2),
              (std::vector<std::string>{"2026-06-15 00:00:00", "2026-07-15 00:00:00"}));
    EXPECT_EQ(run("0 0 * * 1", utc(2026, 5, 10), 2),
              (std::vector<std::string>{"2026-05-11 00:00:00", "2026-05-18 00:00:00"}));
}

/* ---- rejections ---- */

TEST(CronReject, ErrorIsValidationFailedWithStatus400) {
    try {
        CronExpression::parse("61 * * * *");
        FAIL() << "accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
        EXPECT_EQ(e.http_status(), 400);
        ASSERT_EQ(e.details().size(), 1u);
        EXPECT_EQ(e.details()[0].field, "cron");
        EXPECT_EQ(e.details()[0].reason, "minute: 61 is out of range 0-59");
    }
}

TEST(CronReject, WrongFieldCount) {
    expect_rejected("", "got 0");
    expect_rejected(" \t ", "got 0");
    expect_rejected("* * * *", "got 4");
    expect_rejected("* * * * * *", "got 6");
}

TEST(CronReject, OutOfRangeNamesTheField) {
    expect_rejected("60 * * * *", "minute");
    expect_rejected("0-60 * * * *", "minute");
    expect_rejected("99999999999999 * * * *", "minute");
    expect_rejected("* 24 * * *", "hour");
    expect_rejected("* * 0 * *", "day-of-month");
    expect_rejected("* * 32 * *", "day-of-month");
    expect_rejected("* * * 0 *", "month");
    expect_rejected("* * * 13 *", "month");
    expect_rejected("* * * * 8", "day-of-week");
}

TEST(CronReject, ZeroStep) {
    expect_rejected("*/0 * * * *", "minute: step must be at least 1");
    expect_rejected("0 1-5/0 * * *", "hour: step must be at least 1");
    expect_rejected("0 0 1/00 * *", "day-of-month: step must be at least 1");
}

TEST(CronReject, ReversedRange) {
    expect_rejected("30-10 * * * *", "minute: range 30-10 is reversed");
    expect_rejected("* * * DEC-JAN *", "month: range 12-1 is reversed");
    expect_rejected("* * * * FRI-MON", "day-of-week: range 5-1 is reversed");
}

TEST(CronReject, GarbageCharacters) {
    expect_rejected("5x * * * *", "minute: unexpected character 'x'");
    expect_rejected("? * * * *", "minute: unexpected character '?'");
    expect_rejected("1.5 * * * *", "minute: unexpected character '.'");
    expect_rejected("1-2-3 * * * *", "minute: unexpected character '-'");
    expect_rejected("*-5 * * * *", "minute: unexpected character '-'");
    expect_rejected("** * * * *", "minute: unexpected character '*'");
    expect_rejected("MON * * * *", "minute: names are not allowed");
    expect_rejected("* * L * *", "day-of-month: names are not allowed");
    expect_rejected("* * * JANUARY *", "month: unknown name 'JANUARY'");
    expect_rejected("* * * * 1#2", "day-of-week: unexpected character '#'");
    expect_rejected("*/x * * * *", "minute: step must be a number");
    expect_rejected("\x01 * * * *", "minute: unexpected character byte 0x01");
}

TEST(CronReject, EmptyPieces) {
    expect_rejected("1,,2 * * * *", "minute: empty list item");
    expect_rejected(",1 * * * *", "minute: empty list item");
    expect_rejected("* * * * 1,", "day-of-week: empty list item");
    expect_rejected("*/ * * * *", "minute: missing step");
    expect_rejected("1- * * * *", "minute: missing value");
    expect_rejected("-1 * * * *", "minute: unexpected character '-'");
    expect_rejected("/5 * * * *", "minute: unexpected character '/'");
}

TEST(CronReject, UnknownMacro) {
    expect_rejected("@reboot", "unknown macro '@reboot'");
    expect_rejected("@", "unknown macro");
    expect_rejected("@daily 5", "unknown macro");
}

TEST(CronReject, ExpressionsThatCanNeverFire) {
    expect_rejected("0 0 30 2 *", "never");
    expect_rejected("0 0 31 4,6,9,11 *", "never");
    expect_rejected("0 0 30,31 FEB *", "never");
    // Still satisfiable: a leap day, or (OR rule) any Monday in February.
    EXPECT_NO_THROW(CronExpression::parse("0 0 29 2 *"));
    EXPECT_EQ(next("0 0 30 2 1", utc(2026, 1, 1)), "2026-02-02 00:00:00");
}

TEST(CronReject, UnknownTimeZoneNamesTheTimezoneField) {
    expect_rejected("* * * * *", "Mars/Olympus_Mons", "Mars/Olympus_Mons", "timezone");
    expect_rejected("* * * * *", "Europe/Berlinn", "Europe/Berlinn", "timezone");
    expect_rejected("* * * * *", "unknown IANA time zone", "", "timezone");
    expect_rejected("* * * * *", "unknown IANA time zone", "../../etc/passwd", "timezone");
}

/* ---- time zones ---- */

TEST(CronZone, AccessorsReturnTheTrimmedInputs) {
    const auto cron = CronExpression::parse("  0 9 * * mon-fri\t", "Europe/Berlin");
    EXPECT_EQ(cron.expression(), "0 9 * * mon-fri");
    EXPECT_EQ(cron.timezone(), "Europe/Berlin");
    EXPECT_EQ(CronExpression::parse("@daily").timezone(), "UTC");
    EXPECT_EQ(CronExpression::parse("@daily").expression(), "@daily");
}

TEST(CronZone, DailyJobInBerlinFollowsLocalTime) {
    const char* tz = "Europe/Berlin";
    EXPECT_EQ(next("0 9 * * *", utc(2026, 1, 10, 12), tz), "2026-01-11 08:00:00");  // CET
    EXPECT_EQ(next("0 9 * * *", utc(2026, 7, 10, 12), tz), "2026-07-11 07:00:00");  // CEST
    // Across the spring transition the job stays at 09:00 local.
    EXPECT_EQ(run("0 9 * * *", utc(2026, 3, 28, 7), 3, tz),
              (std::vector<std::string>{"2026-03-28 08:00:00", "2026-03-29 07:00:00",
                                        "2026-03-30 07:00:00"}));
}

TEST(CronZone, MidnightInNewYorkIsTheLocalMidnight) {
    // 2026-05-10 00:00 UTC is 20:00 EDT on the 9th.
    EXPECT_EQ(next("@daily", utc(2026, 5, 10), "America/New_York"), "2026-05-10 04:00:00");
}

/* ---- DST: Europe/Berlin, 2026-03-29 01:00 UTC and 2026-10-25 01:00 UTC ---- */

TEST(CronDst, BerlinGapTimeFiresAtTheEndOfTheGap) {
    const auto cron = CronExpression::parse("30 2 * * *", "Europe/Berlin");
    const auto t = cron.next_after(utc(2026, 3, 28, 12));
    EXPECT_EQ(show(t), "2026-03-29 01:00:00");
    EXPECT_EQ(show_local(t, "Europe/Berlin"), "2026-03-29 03:00:00 CEST");
    EXPECT_EQ(show_local(cron.next_after(t), "Europe/Berlin"), "2026-03-30 02:30:00 CEST");
}

TEST(CronDst, BerlinGapCollapsesEverySkippedMinuteIntoOneRun) {
    EXPECT_EQ(run("*/15 2 * * *", utc(2026, 3, 28, 12), 2, "Europe/Berlin"),
              (std::vector<std::string>{"2026-03-29 01:00:00", "2026-03-30 00:00:00"}));
    // 02:00, 02:30 and the real 03:00 are one instant; 03:30 follows.
    EXPECT_EQ(run("0,30 2,3 * * *", utc(2026, 3, 28, 12), 2, "Europe/Berlin"),
              (std::vector<std::string>{"2026-03-29 01:00:00", "2026-03-29 01:30:00"}));
}

TEST(CronDst, BerlinEveryMinuteRunsStraightThroughTheGap) {
    EXPECT_EQ(run("* * * * *", utc(2026, 3, 29, 0, 58), 3, "Europe/Berlin"),
              (std::vector<std::string>{"2026-03-29 00:59:00", "2026-03-29 01:00:00",
                                        "2026-03-29 01:01:00"}));
}

TEST(CronDst, BerlinOverlapFiresOnlyTheFirstOccurrence) {
    const auto cron = CronExpression::parse("30 2 * * *", "Europe/Berlin");
    const auto t = cron.next_after(utc(2026, 10, 24, 12));
    EXPECT_EQ(show(t), "2026-10-25 00:30:00");
    EXPECT_EQ(show_local(t, "Europe/Berlin"), "2026-10-25 02:30:00 CEST");
    const auto t2 = cron.next_after(t);
    EXPECT_EQ(show(t2), "2026-10-26 01:30:00");
    EXPECT_EQ(show_local(t2, "Europe/Berlin"), "2026-10-26 02:30:00 CET");
}

// Issue 7, the rule of Vixie cron and cronie: a job whose hour field is a
// wildcard or a step (`*`, `*/n`) follows elapsed time, so it also runs in the
// repeated hour; a job with fixed hours runs once (the first occurrence).
TEST(CronDst, BerlinHourlyRunsInTheRepeatedHourToo) {
    EXPECT_EQ(run("0 * * * *", utc(2026, 10, 24, 23, 30), 4, "Europe/Berlin"),
              (std::vector<std::string>{"2026-10-25 00:00:00",     // 02:00 CEST
                                        "2026-10-25 01:00:00",     // 02:00 CET
                                        "2026-10-25 02:00:00",     // 03:00 CET
                                        "2026-10-25 03:00:00"}));  // 04:00 CET
}

TEST(CronDst, BerlinEveryFiveMinutesIsNotSilentForTheRepeatedHour) {
    const auto cron = CronExpression::parse("*/5 * * * *", "Europe/Berlin");
    auto t = utc(2026, 10, 25, 0, 50);  // 02:50 CEST
    std::vector<std::string> fired;
    for (int i = 0; i < 15; ++i) fired.push_back(show(t = cron.next_after(t)));
    // Every 5 minutes of real time straight through 02:55 CEST -> 02:00 CET -> 03:00 CET.
    std::vector<std::string> expected;
    for (int m = 55; m <= 55 + 70; m += 5) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "2026-10-25 %02d:%02d:00", m / 60, m % 60);
        expected.push_back(buf);
    }
    EXPECT_EQ(fired, expected);
}

TEST(CronDst, BerlinStepHourFollowsElapsedTimeAndFixedHourRunsOnce) {
    // */1 in the hour field is a step: elapsed time.
    EXPECT_EQ(run("30 */1 * * *", utc(2026, 10, 25, 0, 0), 2, "Europe/Berlin"),
              (std::vector<std::string>{"2026-10-25 00:30:00", "2026-10-25 01:30:00"}));
    // 2 is fixed: 02:30 CEST only, then the next day.
    EXPECT_EQ(run("30 2 * * *", utc(2026, 10, 25, 0, 0), 2, "Europe/Berlin"),
              (std::vector<std::string>{"2026-10-25 00:30:00", "2026-10-26 01:30:00"}));
    // A list of hours is fixed too.
    EXPECT_EQ(run("30 1,2,3 * * *", utc(2026, 10, 25, 0, 0), 2, "Europe/Berlin"),
              (std::vector<std::string>{"2026-10-25 00:30:00", "2026-10-25 02:30:00"}));
}

TEST(CronDst, BerlinAfterInsideTheRepeatedHourDoesNotRefire) {
    // 01:10 UTC is 02:10 CET, the second pass; 02:45 already ran at 00:45 UTC.
    EXPECT_EQ(next("45 2 * * *", utc(2026, 10, 25, 1, 10), "Europe/Berlin"), "2026-10-26 01:45:00");
    EXPECT_EQ(next("15 3 * * *", utc(2026, 10, 25, 1, 10), "Europe/Berlin"), "2026-10-25 02:15:00");
}

TEST(CronDst, BerlinHalfHourlyYearFiresEachDistinctInstantOnce) {
    // 2026 in Berlin: 365 * 48 local slots; on 29 March 02:00, 02:30 and 03:00
    // are one instant (-2), and on 25 October the repeated 02:00 and 02:30
    // run again in elapsed time (+2).
    const auto cron = CronExpression::parse("*/30 * * * *", "Europe/Berlin");
    auto t = utc(2025, 12, 31, 23) - std::chrono::seconds{1};
    const auto end = utc(2026, 12, 31, 23);
    int count = 0;
    while (true) {
        const auto n = cron.next_after(t);
        ASSERT_GT(n, t);
        if (n >= end) break;
        t = n;
        ++count;
    }
    EXPECT_EQ(count, 365 * 48);
}

/* ---- DST: America/New_York, 2026-03-08 and 2026-11-01 at 02:00 local ---- */

TEST(CronDst, NewYorkGapTimeFiresAtThreeEdt) {
    const auto cron = CronExpression::parse("30 2 * * *", "America/New_York");
    const auto t = cron.next_after(utc(2026, 3, 7, 12));
    EXPECT_EQ(show(t), "2026-03-08 07:00:00");
    EXPECT_EQ(show_local(t, "America/New_York"), "2026-03-08 03:00:00 EDT");
    EXPECT_EQ(show(cron.next_after(t)), "2026-03-09 06:30:00");
}

TEST(CronDst, NewYorkOverlapFiresOnlyTheEdtOccurrence) {
    const auto cron = CronExpression::parse("30 1 * * *", "America/New_York");
    const auto t = cron.next_after(utc(2026, 10, 31, 12));
    EXPECT_EQ(show(t), "2026-11-01 05:30:00");
    EXPECT_EQ(show_local(t, "America/New_York"), "2026-11-01 01:30:00 EDT");
    const auto t2 = cron.next_after(t);
    EXPECT_EQ(show(t2), "2026-11-02 06:30:00");
    EXPECT_EQ(show_local(t2, "America/New_York"), "2026-11-02 01:30:00 EST");
}

TEST(CronDst, NewYorkDailyKeepsLocalTimeAcrossBothTransitions) {
    EXPECT_EQ(run("0 9 * * *", utc(2026, 3, 7, 15), 2, "America/New_York"),
              (std::vector<std::string>{"2026-03-08 13:00:00", "2026-03-09 13:00:00"}));
    EXPECT_EQ(run("0 9 * * *", utc(2026, 10, 31, 14), 2, "America/New_York"),
              (std::vector<std::string>{"2026-11-01 14:00:00", "2026-11-02 14:00:00"}));
}

TEST(CronDst, NewYorkEveryFiveMinutesRunsThroughTheRepeatedHour) {
    // 2026-11-01 06:00 UTC: 02:00 EDT becomes 01:00 EST.
    EXPECT_EQ(run("*/5 * * * *", utc(2026, 11, 1, 5, 50), 4, "America/New_York"),
              (std::vector<std::string>{"2026-11-01 05:55:00",  // 01:55 EDT
                                        "2026-11-01 06:00:00",  // 01:00 EST
                                        "2026-11-01 06:05:00",  // 01:05 EST
                                        "2026-11-01 06:10:00"}));
    // From inside the second pass, the next run is five minutes on.
    EXPECT_EQ(next("*/5 * * * *", utc(2026, 11, 1, 6, 32), "America/New_York"),
              "2026-11-01 06:35:00");
    // The fixed-hour job keeps its single EDT run (NewYorkOverlapFiresOnlyTheEdtOccurrence).
    EXPECT_EQ(next("30 1 * * *", utc(2026, 11, 1, 5, 45), "America/New_York"),
              "2026-11-02 06:30:00");
}

TEST(CronDst, NewYorkHourlyRunsBothOneOClocks) {
    EXPECT_EQ(run("0 * * * *", utc(2026, 11, 1, 4, 30), 3, "America/New_York"),
              (std::vector<std::string>{"2026-11-01 05:00:00",     // 01:00 EDT
                                        "2026-11-01 06:00:00",     // 01:00 EST
                                        "2026-11-01 07:00:00"}));  // 02:00 EST
}

// Cron schedules for recurring jobs: a 5-field Vixie-cron expression bound to an
// IANA time zone, and the calculation of its next fire time.
//
// Design
//   parse() expands every field once into a bitset (minute bits 0-59, hour 0-23,
//   day-of-month 1-31, month 1-12, day-of-week 0-6 with Sunday = 0; a 7 folds
//   onto 0). next_after() then walks local calendar days of the zone, jumping
//   over whole months whose bit is clear and days that do not match, and only
//   inside a matching day looks at the (hour, minute) bits. The cost is bounded
//   by the number of days searched, never by minutes.
//
//   Day-of-month and day-of-week follow Vixie cron: if either field starts with
//   `*` (so `*` and `*/2` alike) a day must match both; if both are restricted a
//   day matches when either does ("0 0 13 * 5" = every 13th and every Friday).
//
//   parse() rejects expressions that can never fire (e.g. "0 0 30 2 *"), so
//   next_after() always finds a time. Its search is still bounded: the
//   Gregorian calendar repeats every 400 years, so a schedule that has not
//   fired within 401 years never will; the bound only guards against a bug or
//   a time near the end of system_clock's range, where it throws.
//
// Wall-clock time and DST
//   Fields describe local wall-clock time in the zone. Each matching local
//   minute maps to exactly one UTC instant:
//   - unique local time: that instant;
//   - spring-forward gap (the local time does not exist): the first instant
//     after the gap, i.e. the transition itself. 02:30 on a day that jumps
//     02:00 -> 03:00 fires at 03:00 local; every skipped minute collapses onto
//     that one instant, so the job fires once, not once per skipped minute;
//   - fall-back overlap (the local time occurs twice): the first occurrence
//     only, for a job with fixed hours ("30 2 * * *" runs once). A job whose
//     hour field is a wildcard or a step ("*", "*/n") follows elapsed time
//     instead and also runs in the second pass ("*/5 * * * *" keeps running
//     every 5 minutes through the repeated hour; "0 * * * *" runs at both
//     02:00s) — the rule of Vixie cron and cronie. next_after() finds the
//     first-occurrence candidate as below, then looks for an earlier match in
//     the second pass of a fall-back transition around `after` (a bounded
//     minute scan of that one repeated period).
//   This mapping never decreases as local time increases, which is what lets
//   the search start at the local time of `after` and return the first
//   candidate whose instant is strictly later.
//
// Must never: silently accept a malformed expression, or iterate minute by
// minute over long spans. Objects are immutable and safe to share across
// threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace bazaar::queue {

class CronExpression {
  public:
    // Parses "min hour day-of-month month day-of-week" (or a macro such as
    // "@daily") in the IANA zone `tz`. Throws bazaar::Error kValidationFailed
    // with a FieldIssue "cron" (or "timezone" for an unknown zone) whose reason
    // names the offending field.
    static CronExpression parse(std::string_view expr, std::string_view tz = "UTC");

    // The first fire time strictly after `after`, at whole-minute precision.
    // Throws bazaar::Error if no fire time is representable by system_clock.
    std::chrono::system_clock::time_point next_after(
        std::chrono::system_clock::time_point after) const;

    // The expression and zone name as given to parse() (surrounding blanks trimmed).
    const std::string& expression() const { return expression_; }
    const std::string& timezone() const { return timezone_; }

  private:
    CronExpression() = default;
    // next_after() under the first-occurrence mapping only.
    std::chrono::sys_seconds next_first_occurrence(
        std::chrono::system_clock::time_point after) const;
    // The earliest instant in (after, before) inside the second pass of a
    // fall-back transition whose local time matches; `before` if none.
    std::chrono::sys_seconds next_in_repeated_hour(std::chrono::sys_seconds after,
                                                   std::chrono::sys_seconds before) const;
    // Whether a local wall-clock minute (seconds since the local epoch) matches.
    bool matches_local(std::int64_t local_s) const;

    std::string expression_;
    std::string timezone_;
    // Owned by the process-wide tz database, which lives until exit.
    const date::time_zone* zone_ = nullptr;

    std::uint64_t minutes_ = 0;
    std::uint32_t hours_ = 0;
    std::uint32_t days_of_month_ = 0;
    std::uint16_t months_ = 0;
    std::uint8_t days_of_week_ = 0;
    // True when both day fields are restricted: a day matches if either does.
    bool day_fields_or_ = false;
    // The hour field is `*` or `*/n`: runs in both passes of a repeated hour.
    bool hour_follows_elapsed_time_ = false;
};

}  // namespace bazaar::queue

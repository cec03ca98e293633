// Cron parsing and next-fire search; the design and DST rules are described in
// bazaar/queue/cron.hpp.
#include "bazaar/queue/cron.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstdio>
#include <limits>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include "bazaar/error.hpp"
#include "bazaar/text/strings.hpp"

namespace bazaar::queue {

namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

/* ---- field grammar ---- */

struct FieldSpec {
    const char* name;
    int min;
    int max;
    // Three-letter aliases; names[i] stands for value names_base + i.
    std::span<const std::string_view> names;
    int names_base;
};

constexpr std::array<std::string_view, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};

// Day-of-week accepts 7 as a second Sunday; it is folded onto bit 0 after parsing.
const std::array<FieldSpec, 5> kFields = {{
    {"minute", 0, 59, {}, 0},
    {"hour", 0, 23, {}, 0},
    {"day-of-month", 1, 31, {}, 0},
    {"month", 1, 12, kMonthNames, 1},
    {"day-of-week", 0, 7, kWeekdayNames, 0},
}};

struct Macro {
    std::string_view name;
    std::string_view expansion;
};

constexpr std::array<Macro, 7> kMacros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

// Enough to tell every in-range value from an out-of-range one without overflow.
constexpr int kValueCap = 1000;

[[noreturn]] void fail(std::string reason) {
    throw Error::validation("cron", std::move(reason));
}

[[noreturn]] void fail_field(const FieldSpec& f, const std::string& what) {
    fail(std::string(f.name) + ": " + what);
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

using text::iequals;

// Control bytes and non-ASCII would garble the reason text shown to clients.
std::string describe_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (std::isprint(u)) return std::string("'") + c + "'";
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02X", u);
    return buf;
}

std::vector<std::string_view> split_blanks(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_blank(s[i])) ++i;
        std::size_t start = i;
        while (i < s.size() && !is_blank(s[i])) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

// Reads a number or a name at the front of `s`, consuming it.
int take_value(const FieldSpec& f, std::string_view& s) {
    if (s.empty()) fail_field(f, "missing value");
    const auto first = static_cast<unsigned char>(s.front());
    if (std::isdigit(first)) {
        int v = 0;
        while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
            v = std::min(v * 10 + (s.front() - '0'), kValueCap);
            s.remove_prefix(1);
        }
        if (v < f.min || v > f.max) {
            fail_field(f, (v >= kValueCap ? std::string("value") : std::to_string(v)) +
                              " is out of range " + std::to_string(f.min) + "-" +
                              std::to_string(f.max));
        }
        return v;
    }
    if (std::isalpha(first)) {
        std::size_t n = 0;
        while (n < s.size() && std::isalpha(static_cast<unsigned char>(s[n]))) ++n;
        const std::string_view word = s.substr(0, n);
        for (std::size_t i = 0; i < f.names.size(); ++i) {
            if (iequals(word, f.names[i])) {
                s.remove_prefix(n);
                return f.names_base + static_cast<int>(i);
            }
        }
        if (f.names.empty())
            fail_field(f, "names are not allowed, got '" + std::string(word) + "'");
        fail_field(f, "unknown name '" + std::string(word) + "'");
    }
    fail_field(f, "unexpected character " + describe_char(s.front()));
}

int take_step(const FieldSpec& f, std::string_view& s) {
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front())))
        fail_field(f, s.empty() ? "missing step after '/'" : "step must be a number");
    int v = 0;
    while (!s.empty() && std::isdigit(static_cast<unsigned char>(s.front()))) {
        v = std::min(v * 10 + (s.front() - '0'), kValueCap);
        s.remove_prefix(1);
    }
    if (v == 0) fail_field(f, "step must be at least 1");
    return v;
}

// One comma-separated item: `*`, `a`, `a-b`, each optionally `/step`.
std::uint64_t parse_item(const FieldSpec& f, std::string_view item) {
    if (item.empty()) fail_field(f, "empty list item");
    std::string_view s = item;
    int lo = f.min;
    int hi = f.max;
    bool single = false;
    if (s.front() == '*') {
        s.remove_prefix(1);
    } else {
        lo = take_value(f, s);
        if (!s.empty() && s.front() == '-') {
            s.remove_prefix(1);
            hi = take_value(f, s);
            if (lo > hi) {
                fail_field(
                    f, "range " + std::to_string(lo) + "-" + std::to_string(hi) + " is reversed");
            }
        } else {
            hi = lo;
            single = true;
        }
    }
    int step = 1;
    if (!s.empty() && s.front() == '/') {
        s.remove_prefix(1);
        step = take_step(f, s);
        // "a/n" means "from a to the end of the field, every n".
        if (single) hi = f.max;
    }
    if (!s.empty()) fail_field(f, "unexpected character " + describe_char(s.front()));

    std::uint64_t bits = 0;
    for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;
    return bits;
}

std::uint64_t parse_field(const FieldSpec& f, std::string_view text) {
    std::uint64_t bits = 0;
    for (std::string_view item : bazaar::text::split(text, ',')) bits |= parse_item(f, item);
    return bits;
}

/* ---- calendar search ---- */

// Bits at positions >= from.
template <class Bits>
Bits bits_from(Bits bits, int from) {
    return from >= std::numeric_limits<Bits>::digits ? Bits{0} : Bits(bits & (~Bits{0} << from));
}

// The instant a local wall-clock time fires at, per the DST rules in the header.
date::sys_seconds fire_instant(const date::time_zone& zone, date::local_seconds local) {
    const date::local_info info = zone.get_info(local);
    if (info.result == date::local_info::nonexistent) return info.second.begin;
    // For an ambiguous time `first` is the offset before the transition, which
    // gives the earlier of the two instants.
    return date::sys_seconds{local.time_since_epoch()} - info.first.offset;
}

// 400 Gregorian years repeat exactly, plus slack for the start day.
constexpr date::days kSearchSpan{146097 + 366};

}  // namespace

/* ---- public API ---- */

CronExpression CronExpression::parse(std::string_view expr, std::string_view tz) {
    CronExpression c;
    const std::string_view trimmed = trim(expr);
    c.expression_ = std::string(trimmed);

    std::string_view body = trimmed;
    if (!body.empty() && body.front() == '@') {
        body = {};
        for (const auto& m : kMacros) {
            if (iequals(trimmed, m.name)) body = m.expansion;
        }
        if (body.empty()) {
            fail("unknown macro '" + std::string(trimmed) +
                 "'; expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly");
        }
    }

    const auto fields = split_blanks(body);
    if (fields.size() != kFields.size()) {
        fail("expected 5 fields (minute hour day-of-month month day-of-week), got " +
             std::to_string(fields.size()));
    }
    std::array<std::uint64_t, 5> bits{};
    for (std::size_t i = 0; i < kFields.size(); ++i) bits[i] = parse_field(kFields[i], fields[i]);

    c.minutes_ = bits[0];
    c.hours_ = static_cast<std::uint32_t>(bits[1]);
    c.days_of_month_ = static_cast<std::uint32_t>(bits[2]);
    c.months_ = static_cast<std::uint16_t>(bits[3]);
    c.days_of_week_ = static_cast<std::uint8_t>((bits[4] | (bits[4] >> 7)) & 0x7F);
    // Vixie cron decides on the first character, so "*/2" counts as unrestricted.
    c.day_fields_or_ = fields[2].front() != '*' && fields[4].front() != '*';
    c.hour_follows_elapsed_time_ = fields[1].front() == '*';

    // With OR every month holds every weekday, so only AND can be unsatisfiable;
    // then some selected day-of-month must exist in some selected month (29 Feb
    // counts: leap years recur, and within 400 years on every weekday).
    if (!c.day_fields_or_) {
        constexpr std::array<int, 13> kMaxDays = {0,  31, 29, 31, 30, 31, 30,
                                                  31, 31, 30, 31, 30, 31};
        bool possible = false;
        for (int m = 1; m <= 12 && !possible; ++m) {
            // Bits 1..max; 64-bit because a 31-day month needs a shift by 32.
            const auto valid = (std::uint64_t{1} << (kMaxDays[m] + 1)) - 2;
            possible = ((c.months_ >> m) & 1) && (c.days_of_month_ & valid);
        }
        if (!possible)
            fail("day-of-month never occurs in the selected month(s); it can never fire");
    }

    try {
        c.zone_ = date::locate_zone(tz);
    } catch (const std::runtime_error&) {
        throw Error::validation("timezone", "unknown IANA time zone '" + std::string(tz) + "'");
    }
    c.timezone_ = std::string(tz);
    return c;
}

std::chrono::system_clock::time_point CronExpression::next_after(
    std::chrono::system_clock::time_point after) const {
    const date::sys_seconds first = next_first_occurrence(after);
    if (!hour_follows_elapsed_time_) return first;
    return next_in_repeated_hour(date::floor<seconds>(after), first);
}

date::sys_seconds CronExpression::next_first_occurrence(
    std::chrono::system_clock::time_point after) const {
    // Whole seconds suffice because fire instants are whole seconds: t > after
    // iff t > floor(after). Seconds also cannot overflow near the clock's ends.
    const auto after_s = date::floor<seconds>(after);
    const auto start = date::floor<minutes>(zone_->to_local(after_s));
    date::local_days day = date::floor<date::days>(start);
    const auto start_hour = static_cast<int>((start - day) / hours{1});
    const auto start_minute = static_cast<int>((start - day) % hours{1} / minutes{1});

    // Results must fit system_clock's nanosecond time_point; a day of margin
    // covers any UTC offset.
    const auto clock_end =
        date::floor<date::days>(date::floor<seconds>(std::chrono::system_clock::time_point::max()));
    const auto last_day =
        std::min(day + kSearchSpan, date::local_days{clock_end.time_since_epoch()} - date::days{2});

    for (bool first_day = true; day <= last_day; first_day = false) {
        const date::year_month_day ymd{day};
        const auto month = static_cast<unsigned>(ymd.month());
        if (((months_ >> month) & 1) == 0) {
            day = date::local_days{(ymd.year() / ymd.month() + date::months{1}) / 1};
            continue;
        }
        const bool dom = (days_of_month_ >> static_cast<unsigned>(ymd.day())) & 1;
        const bool dow = (days_of_week_ >> date::weekday{day}.c_encoding()) & 1;
        if (day_fields_or_ ? (dom || dow) : (dom && dow)) {
            for (auto hs = bits_from(hours_, first_day ? start_hour : 0); hs != 0; hs &= hs - 1) {
                const int h = std::countr_zero(hs);
                const bool from_start = first_day && h == start_hour;
                for (auto ms = bits_from(minutes_, from_start ? start_minute : 0); ms != 0;
                     ms &= ms - 1) {
                    const date::local_seconds local =
                        day + hours{h} + minutes{std::countr_zero(ms)};
                    const date::sys_seconds t = fire_instant(*zone_, local);
                    if (t > after_s) return t;
                }
            }
        }
        day += date::days{1};
    }
    throw Error::validation("cron", "'" + expression_ +
                                        "' has no fire time after the given instant "
                                        "within the supported time range");
}

bool CronExpression::matches_local(std::int64_t local_s) const {
    const date::local_seconds local{seconds{local_s}};
    const date::local_days day = date::floor<date::days>(local);
    const date::year_month_day ymd{day};
    const auto hm = date::hh_mm_ss<seconds>(local - day);
    if (((months_ >> static_cast<unsigned>(ymd.month())) & 1) == 0) return false;
    const bool dom = (days_of_month_ >> static_cast<unsigned>(ymd.day())) & 1;
    const bool dow = (days_of_week_ >> date::weekday{day}.c_encoding()) & 1;
    if (!(day_fields_or_ ? (dom || dow) : (dom && dow))) return false;
    return ((hours_ >> hm.hours().count()) & 1) && ((minutes_ >> hm.minutes().count()) & 1);
}

date::sys_seconds CronExpression::next_in_repeated_hour(date::sys_seconds after,
                                                        date::sys_seconds before) const {
    const date::sys_info now = zone_->get_info(after);
    date::sys_seconds best = before;
    // The fall-back transitions that can matter: the one that began the
    // current period (`after` may be inside its second pass) and the next one.
    for (const date::sys_seconds transition : {now.begin, now.end}) {
        // A repeated period lasts hours at most; older transitions cannot matter.
        if (transition + date::days{1} < after || transition >= best) continue;
        const auto old_offset = zone_->get_info(transition - seconds{1}).offset;
        const auto new_offset = zone_->get_info(transition).offset;
        const auto repeated = old_offset - new_offset;
        if (repeated <= seconds{0}) continue;  // spring forward: nothing repeats
        // Second pass: instants [transition, transition + repeated), whose
        // local times all occurred once before. At most a few hundred minutes.
        date::sys_seconds t =
            std::max<date::sys_seconds>(transition, date::floor<minutes>(after) + minutes{1});
        for (; t < transition + repeated && t < best; t += minutes{1}) {
            if (matches_local((t + new_offset).time_since_epoch().count())) {
                best = t;
                break;
            }
        }
    }
    return best;
}

}  // namespace bazaar::queue

// Time and id helpers shared by every process: RFC 3339 UTC timestamps as
// API.md writes them, and random identifiers.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace bazaar {

using SysTime = std::chrono::system_clock::time_point;

// "2026-11-22T12:00:00.000Z" (milliseconds, always UTC).
std::string format_rfc3339(SysTime t);
std::int64_t now_ms();

// A random UUID v4, lower-case with dashes.
std::string uuid_v4();
// `n` random bytes as lower-case hex (2n characters), from a CSPRNG.
std::string random_hex(std::size_t n);

}  // namespace bazaar

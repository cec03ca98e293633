// Small string rules used in more than one place (HTTP headers, cron
// expressions, configuration lists, query parameters). ASCII only on
// purpose: these handle protocol tokens, never user text (user text goes
// through text/utf8.hpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace bazaar::text {

// ASCII case-insensitive equality (bytes >= 0x80 must match exactly).
bool iequals(std::string_view a, std::string_view b);

// `s` without leading and trailing characters of `chars`.
std::string_view trim(std::string_view s, std::string_view chars = " \t");

// Every piece between separators, empty ones included ("a,,b" -> a, "", b;
// "" -> one empty piece). The views point into `s`.
std::vector<std::string_view> split(std::string_view s, char sep);

// A configuration-style list: pieces trimmed of spaces and tabs, empty
// pieces dropped ("a, ,b," -> {"a", "b"}).
std::vector<std::string> split_list(std::string_view s, char sep = ',');

}  // namespace bazaar::text

// The standard output of a shell command, for stack tests that drive
// redis-cli and the stack script (shared by the backend and queue tests).
#pragma once

#include <cstdio>
#include <string>

namespace bazaar::testing {

inline std::string shell_output(const std::string& cmd) {
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    pclose(p);
    return out;
}

}  // namespace bazaar::testing

#include "bazaar/version.hpp"

#include <chrono>

namespace bazaar {

namespace {
const auto g_started = std::chrono::steady_clock::now();
}

const char* version() { return BAZAAR_VERSION; }

long uptime_seconds() {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - g_started)
            .count());
}

}  // namespace bazaar

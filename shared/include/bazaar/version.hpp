#pragma once

namespace bazaar {

// The product version (CMake project version), as /health reports it.
const char* version();
// Seconds since this process started (since its first call to this module).
long uptime_seconds();

}  // namespace bazaar

// Start-up shared by every bazaar process: configuration, then logging.
#pragma once

#include "bazaar/config.hpp"

namespace bazaar {

// Loads the configuration (.env, then the environment). A bad value ends the
// process with status 2 and one line on stderr: "<process>: <VARIABLE>: why".
// Then starts JSON logging under `process_name` at LOG_LEVEL and sets the
// replication policy (replication::configure).
Config start_process(const char* process_name);

}  // namespace bazaar

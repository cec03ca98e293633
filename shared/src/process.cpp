#include "bazaar/process.hpp"

#include <cstdio>
#include <cstdlib>

#include "bazaar/log.hpp"

namespace bazaar {

Config start_process(const char* process_name) {
    Config config;
    try {
        config = Config::load();
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s: %s\n", process_name, e.what());
        std::exit(2);
    }
    log::init(process_name, log::parse_level(config.log_level));
    return config;
}

}  // namespace bazaar

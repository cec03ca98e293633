// Stack tests of libbazaar's Postgres and Redis layers: they run against the
// isolated stack that ctest's `stack` fixture starts (scripts/stack test),
// reading its ports from the environment.
#pragma once

#include <csignal>

#include <cstdlib>
#include <string>

#include "bazaar/config.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::stacktest {

// Like every bazaar process (shared/src/process.cpp): a write to a Redis or
// Postgres connection the server closed must be an EPIPE error, not a signal
// that ends the test binary. Over a unix socket that write is the first one.
inline const bool kSigpipeIgnored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

inline Config stack_config() {
    static Config c = Config::load("/nonexistent");
    return c;
}

// The stack's Redis as every bazaar process sees it (redis_options: one
// server, or with REDIS_CLUSTER set the cluster's seeds), so the tests run
// unchanged in the cluster pass of `scripts/stack test`.
inline RedisOptions redis_options() {
    return bazaar::redis_options(stack_config());
}

// Runs `scripts/stack _test-svc <action> <service>`; returns the exit status.
inline int stack_svc(const std::string& action, const std::string& service) {
    const char* root = std::getenv("BAZAAR_ROOT");
    std::string cmd = std::string(root ? root : ".") + "/scripts/stack _test-svc " + action + " " +
                      service + " >/dev/null 2>&1";
    return std::system(cmd.c_str());
}

}  // namespace bazaar::stacktest

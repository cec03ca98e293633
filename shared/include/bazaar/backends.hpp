// What a request thread or a job thread talks to: its own Postgres and Redis
// connections (neither is thread-safe, so nothing here is shared) and the
// process configuration. One Backends per thread, created when the thread
// starts; connections open lazily and reopen by themselves after failures.
#pragma once

#include "bazaar/config.hpp"
#include "bazaar/pg.hpp"
#include "bazaar/redis.hpp"

namespace bazaar {

struct Backends {
    explicit Backends(const Config& cfg)
        : config(cfg), pg(cfg.pg_conninfo(), cfg.pg_timeout_ms), redis(redis_options(cfg)) {}

    const Config& config;
    Pg pg;
    Redis redis;
};

}  // namespace bazaar

// bazaar-worker: runs the background jobs. For now it connects, reports, and
// stops cleanly on SIGTERM; the queue runner builds on this process.
#include <signal.h>

#include <cstdio>

#include "bazaar/backends.hpp"
#include "bazaar/log.hpp"
#include "bazaar/redis.hpp"

int main() {
    using namespace bazaar;
    Config config;
    try {
        config = Config::load();
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "bazaar-worker: %s\n", e.what());
        return 2;
    }
    log::init("bazaar-worker", log::parse_level(config.log_level));
    load_scripts(config.lua_dir);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    Backends backends(config);
    bool redis_up = false, pg_up = false;
    try {
        redis_up = backends.redis.command({"PING"}).str() == "PONG";
    } catch (const std::exception&) {
    }
    pg_up = pg_probe(config.pg_conninfo(), 2000, nullptr);
    log::info("bazaar-worker ready", {{"redis", redis_up}, {"postgres", pg_up}});

    int sig = 0;
    sigwait(&set, &sig);
    log::info("bazaar-worker stopped", {{"signal", sig}});
    return 0;
}

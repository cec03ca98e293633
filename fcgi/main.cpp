// bazaar-fcgi: the REST API as a FastCGI responder behind nginx.
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/process.hpp"
#include "bazaar/redis.hpp"
#include "routes.hpp"
#include "server.hpp"

int main() {
    using namespace bazaar;
    Config config = start_process("bazaar-fcgi");
    try {
        load_scripts(config.lua_dir);
        http::Router router;
        http::register_all_routes(router);
        std::filesystem::create_directories(config.var_dir + "/run");
        metrics::open(config.var_dir + "/run/metrics.shm", router.metric_names());
        http::Server server(config, router);
        return server.run();
    } catch (const std::exception& e) {
        log::error("bazaar-fcgi failed to start", {{"error", e.what()}});
        return 1;
    }
}

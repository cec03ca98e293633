#include "operations.hpp"

#include <vector>

#include "bazaar/events/ws_metrics.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/version.hpp"

namespace bazaar::http {

namespace {

std::vector<std::function<std::string(Backends&)>>& sections() {
    static std::vector<std::function<std::string(Backends&)>> s;
    return s;
}

// The budget of /health is 2 s in all (API.md): Postgres gets most of it, Redis
// is bounded by REDIS_TIMEOUT_MS; both are probed even when one is down.
constexpr int kPgProbeMs = 1200;

Response ping(Request&, Backends&) {
    static const std::string body = R"({"success":true,"data":{"pong":true}})";
    return Response::raw_json(body);
}

Response health(Request&, Backends& b) {
    std::string pg_error;
    bool pg_up = pg_probe(b.config.pg_conninfo(), kPgProbeMs, &pg_error);
    bool redis_up = false;
    try {
        redis_up = b.redis.command({"PING"}).str() == "PONG";
    } catch (const std::exception&) {
        redis_up = false;
    }
    bool ok = pg_up && redis_up;
    nlohmann::json data = {{"status", ok ? "ok" : "degraded"},
                           {"postgres", pg_up ? "up" : "down"},
                           {"redis", redis_up ? "up" : "down"},
                           {"version", version()},
                           {"uptimeS", uptime_seconds()}};
    if (!ok) {
        log::warn("health degraded",
                  {{"postgres", pg_up}, {"pgError", pg_error}, {"redis", redis_up}});
        nlohmann::json body = {{"success", false},
                               {"data", data},
                               {"error",
                                {{"code", "UNAVAILABLE"},
                                 {"message", "a dependency is down"},
                                 {"details", nlohmann::json::array()}}}};
        return Response::raw_json(body.dump(), 503);
    }
    return Response::ok(data);
}

Response metrics_text(Request&, Backends& b) {
    std::string out = metrics::render();
    out += "# HELP bazaar_process_uptime_seconds Seconds since this fcgi process started.\n";
    out += "# TYPE bazaar_process_uptime_seconds gauge\n";
    out += "bazaar_process_uptime_seconds " + std::to_string(uptime_seconds()) + "\n";
    for (const auto& section : sections()) {
        try {
            out += section(b);
        } catch (const std::exception& e) {
            log::warn("metrics section failed", {{"error", e.what()}});
        }
    }
    return Response::text(std::move(out), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

void add_metrics_section(std::function<std::string(Backends&)> section) {
    sections().push_back(std::move(section));
}

void register_operations_routes(Router& router) {
    router.add("GET", "/api/v1/ping", ping);
    router.add("GET", "/api/v1/health", health);
    router.add("GET", "/metrics", metrics_text);
    // bazaar-ws processes count into their own files under var/run.
    add_metrics_section([](Backends& b) { return ws_metrics::render(b.config.var_dir + "/run"); });
}

}  // namespace bazaar::http

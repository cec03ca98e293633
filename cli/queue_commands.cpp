// `bazaar queue stats [queue]`, `bazaar queue retry <queue> [jobId]`,
// `bazaar queue drain <queue>`: the operator's side of the job queue, over
// the same functions as the admin routes (bazaar/queue/admin.hpp).
#include <cstdio>

#include "bazaar/error.hpp"
#include "bazaar/queue/admin.hpp"
#include "bazaar/redis.hpp"
#include "commands.hpp"

namespace bazaar::cli {

namespace {

int stats(Redis& redis, const std::vector<std::string>& args) {
    std::vector<std::string> queues;
    if (args.size() > 1) {
        queue::require_queue(redis, args[1]);
        queues.push_back(args[1]);
    } else {
        queues = queue::known_queues(redis);
    }
    std::printf("%-24s %8s %8s %8s %10s %8s %8s %7s %8s %8s\n", "queue", "waiting", "active",
                "delayed", "completed", "failed", "deps", "paused", "done/min", "fail/min");
    for (const auto& q : queues) {
        auto c = queue::counts(redis, q);
        std::printf("%-24s %8lld %8lld %8lld %10lld %8lld %8lld %7s %8lld %8lld\n", q.c_str(),
                    static_cast<long long>(c.waiting), static_cast<long long>(c.active),
                    static_cast<long long>(c.delayed), static_cast<long long>(c.completed),
                    static_cast<long long>(c.failed), static_cast<long long>(c.waiting_children),
                    c.paused ? "yes" : "no", static_cast<long long>(c.completed_last_minute),
                    static_cast<long long>(c.failed_last_minute));
    }
    return 0;
}

int run(const Config& cfg, const std::vector<std::string>& args) {
    Redis redis(redis_options(cfg));
    load_scripts(cfg.lua_dir);
    std::string sub = args.empty() ? "" : args[0];
    if (sub == "stats" && args.size() <= 2) return stats(redis, args);
    if (sub == "retry" && (args.size() == 2 || args.size() == 3)) {
        queue::require_queue(redis, args[1]);
        if (args.size() == 3) {
            queue::retry_job(redis, args[1], args[2]);
            std::printf("job %s of %s is waiting again\n", args[2].c_str(), args[1].c_str());
        } else {
            auto n = queue::retry_failed(redis, args[1]);
            std::printf("%lld failed jobs of %s are waiting again\n", static_cast<long long>(n),
                        args[1].c_str());
        }
        return 0;
    }
    if (sub == "drain" && args.size() == 2) {
        queue::require_queue(redis, args[1]);
        auto n = queue::drain(redis, args[1]);
        std::printf("removed %lld waiting and delayed jobs from %s\n", static_cast<long long>(n),
                    args[1].c_str());
        return 0;
    }
    throw std::runtime_error(
        "usage: bazaar queue stats [queue] | retry <queue> [jobId] | drain <queue>");
}

const Registration kQueue{
    {"queue", "queue stats [queue] | retry <queue> [jobId] | drain <queue>", run}};

}  // namespace

}  // namespace bazaar::cli

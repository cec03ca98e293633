// `bazaar pipeline run <branch> [--wait]`, `bazaar pipeline job <id> [--wait]`
// and `bazaar pipeline status <runId>`: the operator's side of the pipelines,
// over the functions of the admin routes (bazaar/pipelines/pipeline_service.hpp).
// `run` enqueues the branch and prints its run id (exit 0); with --wait it
// follows the run and exits 1 when a job of it failed or was skipped. An
// unknown branch or job: one line on stderr, exit non-zero.
#include <chrono>
#include <cstdio>
#include <thread>

#include "bazaar/backends.hpp"
#include "bazaar/error.hpp"
#include "bazaar/pipelines/pipeline_service.hpp"
#include "commands.hpp"

namespace bazaar::cli {

namespace {

constexpr auto kWaitLimit = std::chrono::minutes(30);

int follow(Backends& b, const std::string& run_id, bool once) {
    auto until = std::chrono::steady_clock::now() + kWaitLimit;
    for (;;) {
        auto s = pipelines::run_status(b, run_id);
        std::string status = s["status"].get<std::string>();
        if (status != "running" || once) {
            for (const auto& j : s["jobs"]) {
                std::printf("%-28s %-10s %s\n", j["id"].get<std::string>().c_str(),
                            j["status"].get<std::string>().c_str(),
                            j["reason"].is_string() ? j["reason"].get<std::string>().c_str() : "");
            }
            std::printf("run %s %s\n", run_id.c_str(), status.c_str());
            return status == "failed" ? 1 : 0;
        }
        if (std::chrono::steady_clock::now() > until)
            throw std::runtime_error("run " + run_id + " still running after 30 minutes");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

int run(const Config& cfg, const std::vector<std::string>& args) {
    const char* usage =
        "usage: bazaar pipeline run <branch> [--wait] | job <id> [--wait] | "
        "status <runId>";
    std::string sub = args.empty() ? "" : args[0];
    bool wait = args.size() == 3 && args[2] == "--wait";
    if (!((sub == "run" || sub == "job") && (args.size() == 2 || wait)) &&
        !(sub == "status" && args.size() == 2))
        throw std::runtime_error(usage);
    load_scripts(cfg.lua_dir);
    Backends b(cfg);
    if (sub == "status") return follow(b, args[1], true);
    auto r = sub == "run" ? pipelines::run_branch(b, args[1]) : pipelines::run_job(b, args[1]);
    std::printf("run %s started:", r.run_id.c_str());
    for (const auto& j : r.jobs) std::printf(" %s", j.c_str());
    std::printf("\n");
    std::fflush(stdout);
    return wait ? follow(b, r.run_id, false) : 0;
}

const Registration kPipeline{
    {"pipeline", "pipeline run <branch> [--wait] | job <id> [--wait] | status <runId>", run}};

}  // namespace

}  // namespace bazaar::cli

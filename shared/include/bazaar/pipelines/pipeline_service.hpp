// What the admin API and the CLI do with pipelines (API.md §7), over the
// table of registry.hpp.
//
// Runs. A branch run adds all of the branch's jobs to the `pipelines` queue in
// ONE queue_add call (queue::add_bulk): job id "run:<runId>:<pipeline job id>",
// the table's dependsOn mapped onto the run's job ids, the priority mapped
// onto the queue's. The queue itself then does the ordering, with any number
// of workers: a job waits in `waiting-children` until its dependencies
// complete; the completing job's queue_finish script moves its ready
// dependents to `waiting` atomically; a dependency that fails for good fails
// its dependents (transitively) in the same script, with the reason
// "dependency run:<id>:<job> failed: <error>". No run state lives anywhere
// else, so there is nothing to keep consistent between workers; a run's
// description (its jobs) is kept in Redis for 7 days for run_status().
// Why DAG-by-queue: the queue already has atomic, lease-safe dependencies;
// a second coordinator (a run hash updated by handlers) would duplicate that
// and could disagree with the queue after a crash.
//
// Enabled flag: the table's default, overridden by pipeline_job_settings
// (Postgres, survives a Redis flush). A disabled job is not run by its cron
// ticks (the worker's wrapper completes the tick as {"skipped": "disabled"})
// and shows nextRunAt null; a run an operator asks for (branch or job) runs it.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/backends.hpp"
#include "bazaar/pipelines/registry.hpp"

namespace bazaar::pipelines {

struct RunStarted {
    std::string run_id;
    std::vector<std::string> jobs;  // pipeline job ids, in the order added
};

// Error::not_found("branch") / ("pipeline job") for an unknown name.
RunStarted run_branch(Backends& b, std::string_view branch);
RunStarted run_job(Backends& b, std::string_view job_id);
// {runId, branch|null, status: running|completed|failed, createdAt,
//  jobs: [{id, queueJobId, status: waiting|waiting-children|delayed|active|
//  completed|failed|skipped, reason|null, startedAt, finishedAt, result}]}
// Error::not_found("run") for an unknown or expired run.
nlohmann::json run_status(Backends& b, std::string_view run_id);
// {runId, jobs} as the 202 bodies return it.
nlohmann::json run_started_json(const RunStarted& r);

// The queue job id of a pipeline job in a run.
std::string queue_job_id(std::string_view run_id, std::string_view job_id);

// GET /admin/pipelines: [{branch, jobs: [{id, name, branch, cron, timezone,
// enabled, priority, dependsOn, lastRun, nextRunAt}]}] for the listed branches.
nlohmann::json overview(Backends& b, std::chrono::system_clock::time_point now);
// One job in the shape of overview().
nlohmann::json job_json(Backends& b, const JobSpec& spec,
                        std::chrono::system_clock::time_point now);

// PATCH /admin/pipelines/jobs/:id body {enabled: bool} (no other field).
bool parse_enabled(const nlohmann::json& body);
void set_enabled(Backends& b, const JobSpec& spec, bool enabled);
bool is_enabled(Pg& pg, const JobSpec& spec);

// The worker's record of a run of `spec` (pipeline_job_runs). finish() only
// touches the row when it still describes this queue job, so a late retry of
// an older run never hides a newer one.
void record_start(Pg& pg, const JobSpec& spec, const std::string& queue_job_id);
void record_finish(Pg& pg, const JobSpec& spec, const std::string& queue_job_id, bool ok,
                   std::int64_t duration_ms, const nlohmann::json& result,
                   const std::string& error);

}  // namespace bazaar::pipelines

// The pipeline registry (API.md §7): every background job of the store that
// runs on a schedule or on an operator's request, declared once in one table
// (shared/src/pipelines/registry.cpp). The table is the only place that knows
// a job's branch, schedule, priority and dependencies: the worker registers
// the cron ticks from it, the admin API lists it, a branch run plans from it.
//
// Each pipeline job runs as an ordinary job of ONE queue, `pipelines`, whose
// job name is the pipeline job id ("cleanup.idempotency_keys"). Its handler
// is registered in bazaar-worker with PipelineJobRegistration
// (workers/pipeline_job.hpp), which adds the enabled check and the last-run
// record around it.
//
// Priority: 0..100, HIGHER runs first (API.md "higher priority first"). The
// queue's own rule is the opposite (lower number first), so a pipeline
// priority p is enqueued with queue priority 100 - p (queue_priority()).
// Jobs of equal priority keep the table's order (the queue is FIFO within a
// priority).
//
// dependsOn names jobs of the same branch, declared earlier in the table (the
// unit test checks both, so the table has no cycles and a branch run can add
// its jobs in table order). A branch run honours them; a single-job run does
// not (the operator asked for that job only).
//
// The `test` and `testfail` branches exist only with APP_ENV=test (the test
// stack): they carry the jobs that the stack tests of ordering, priorities
// and failing dependencies run. They are never listed by GET /admin/pipelines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bazaar/config.hpp"

namespace bazaar::pipelines {

inline constexpr const char* kQueue = "pipelines";
inline constexpr int kMaxPriority = 100;

struct JobSpec {
    std::string id{};              // "<branch>.<what>", the queue job name
    std::string branch{};          // data | cache | image | ai | cleanup (| test | testfail)
    std::string name{};            // for people
    std::string cron{};            // 5-field cron; empty: runs only when asked
    std::string timezone = "UTC";  // IANA zone of the cron fields
    bool enabled = true;           // the default; an operator's override lives in Postgres
    int priority = 50;             // 0..100, higher first
    std::vector<std::string> depends_on{};
    int attempts = 3;  // queue attempts of one run
    bool test_only = false;
};

// The listed branches, in API order.
const std::vector<std::string>& branches();
// Every job of the table (test jobs included), in table order.
const std::vector<JobSpec>& all_jobs();

// Whether the test branches exist for this process (APP_ENV=test).
bool test_jobs_enabled(const Config& config);

// nullptr when unknown, or a test job and `with_test` is false.
const JobSpec* find_job(std::string_view id, bool with_test);
// The branch's jobs in table order (dependencies first); empty when unknown.
std::vector<const JobSpec*> branch_jobs(std::string_view branch, bool with_test);

// The queue priority of a pipeline priority (see the header comment).
int queue_priority(int pipeline_priority);

}  // namespace bazaar::pipelines

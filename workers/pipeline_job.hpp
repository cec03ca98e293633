// How a pipeline job's handler is registered in bazaar-worker (the table of
// jobs is shared/src/pipelines/registry.cpp; see bazaar/pipelines/registry.hpp):
//
//   // workers/jobs/pipeline_cleanup.cpp
//   const PipelineJobRegistration kKeys{"cleanup.idempotency_keys", [](JobContext& job) {
//       return pipelines::cleanup::purge_idempotency_keys(job.backends());
//   }};
//
// It is a JobRegistration for queue `pipelines`, job name = the pipeline job
// id, whose handler is wrapped so that every pipeline job, whoever writes it:
//   - refuses an id that is not in the table (fails for good),
//   - completes a cron tick of a disabled job as {"skipped": "disabled"}
//     without running it (the operator's switch, read from Postgres),
//   - records its last run (pipeline_job_runs: running, then completed or
//     failed with duration and error) for GET /admin/pipelines,
//   - stores the body's return value as the job's result ({"removed": n}).
// The body throws to fail (the queue retries up to the row's attempts).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "job_registry.hpp"

namespace bazaar::worker {

using PipelineBody = std::function<nlohmann::json(JobContext&)>;

// The wrapper described above.
void run_pipeline_job(JobContext& job, const PipelineBody& body);

struct PipelineJobRegistration {
    PipelineJobRegistration(std::string id, PipelineBody body);
};

}  // namespace bazaar::worker

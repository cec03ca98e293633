// Queue "pipelines" (API.md §7): every pipeline job is a job of this queue
// named by its pipeline id; the handlers are in pipeline_*.cpp. Two job
// threads per process: the jobs are long, set-based and Postgres-bound, and
// two keep one free for a short job while an import runs.
#include "../job_registry.hpp"
#include "bazaar/pipelines/pipeline_jobs.hpp"

namespace {
const bazaar::worker::QueueRegistration kPipelinesQueue{bazaar::pipelines::kQueue,
                                                        {.concurrency = 2}};
}  // namespace

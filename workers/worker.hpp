// The bazaar-worker process: serves the queues of a JobRegistry until SIGTERM
// or SIGINT, then shuts down gracefully:
//   1. stop taking jobs; jobs taken but not started go back to the queue,
//   2. let running jobs finish for up to WORKER_SHUTDOWN_GRACE_MS,
//   3. give the rest back to the queue (another worker starts them at once)
//      and exit without waiting for their handlers.
// Which queues: the registry's, narrowed by WORKER_QUEUES; threads per queue:
// WORKER_QUEUE_CONCURRENCY, else the queue's registration, else WORKER_THREADS.
#pragma once

#include "bazaar/config.hpp"
#include "job_registry.hpp"

namespace bazaar::worker {

// Returns the process exit status. Call from main with the scripts loaded.
int run_worker(const Config& config, const JobRegistry& registry);

// main() of a worker binary: configuration, logging, scripts, run_worker().
int worker_main(const char* process_name);

}  // namespace bazaar::worker

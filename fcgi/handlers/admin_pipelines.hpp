// Admin routes of the pipelines (API.md §7), admin role only (401 without a
// token, 403 for a customer):
//   GET   /api/v1/admin/pipelines                 branches with their jobs
//   POST  /api/v1/admin/pipelines/:branch/run     202 {runId, jobs}
//   POST  /api/v1/admin/pipelines/jobs/:id/run    202 {runId, jobs}
//   PATCH /api/v1/admin/pipelines/jobs/:id        {enabled: bool} → the job
//   GET   /api/v1/admin/pipelines/runs/:runId     each job's status and reason
// (the PATCH and runs routes are ours: API.md names no route for them).
// Thin adapters over bazaar/pipelines/pipeline_service.hpp.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_admin_pipeline_routes(Router& router);

}  // namespace bazaar::http

// Admin routes of the job queue (API.md §7), admin role only:
//   GET    /api/v1/admin/queues
//   GET    /api/v1/admin/queues/:name/jobs?state&limit&cursor
//   GET    /api/v1/admin/queues/:name/jobs/:id
//   POST   /api/v1/admin/queues/:name/jobs/:id/retry
//   POST   /api/v1/admin/queues/:name/retry-failed
//   POST   /api/v1/admin/queues/:name/pause | /resume
//   DELETE /api/v1/admin/queues/:name/jobs?state&olderThanS
//   GET    /api/v1/admin/events?limit
//   GET    /api/v1/admin/outbox/failed?limit
//   POST   /api/v1/admin/outbox/:id/redrive | /api/v1/admin/outbox/redrive?queue
// and the queue section of /metrics. Thin adapters over bazaar/queue/admin.hpp.
#pragma once

#include "../router.hpp"

namespace bazaar::http {

void register_admin_queue_routes(Router& router);

}  // namespace bazaar::http

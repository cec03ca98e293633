// The table of pipeline jobs. To add a job: add a row here (dependencies
// before their dependents, same branch), write its body in shared/ and
// register the handler in bazaar-worker with PipelineJobRegistration
// (workers/jobs/pipeline_*.cpp). Rows whose handler is not linked into the
// worker are listed by the API but never scheduled (see workers/worker.cpp).
#include "bazaar/pipelines/registry.hpp"

#include <algorithm>

namespace bazaar::pipelines {

namespace {

std::vector<JobSpec> make_table() {
    std::vector<JobSpec> t = {
        // ---- data ----
        {.id = "data.import",
         .branch = "data",
         .name = "Catalog import from var/import/",
         .cron = "*/15 * * * *",
         .timezone = "UTC",
         .priority = 60},
        {.id = "data.sales_summary",
         .branch = "data",
         .name = "Daily sales summary",
         .cron = "30 0 * * *",
         .timezone = "UTC",
         .priority = 40,
         .depends_on = {"data.import"}},
        // ---- cache ----
        {.id = "cache.invalidate",
         .branch = "cache",
         .name = "Invalidate cached reads by pattern",
         .cron = "0 4 * * *",
         .timezone = "UTC",
         .priority = 60},
        {.id = "cache.warm",
         .branch = "cache",
         .name = "Warm the most-read books",
         .cron = "*/10 * * * *",
         .timezone = "UTC",
         .priority = 50,
         .depends_on = {"cache.invalidate"}},
        // ---- image ----
        {.id = "image.orphans",
         .branch = "image",
         .name = "Remove orphaned image files",
         .cron = "*/30 * * * *",
         .timezone = "UTC",
         .priority = 50},
        // ---- ai ----
        {.id = "ai.recommendations",
         .branch = "ai",
         .name = "Co-purchase recommendations",
         .cron = "0 2 * * *",
         .timezone = "UTC",
         .priority = 50},
        // ---- cleanup ----
        {.id = "cleanup.reservations",
         .branch = "cleanup",
         .name = "Expire overdue unpaid orders and stale stock holds",
         .cron = "*/5 * * * *",
         .timezone = "UTC",
         .priority = 90},
        {.id = "cleanup.idempotency_keys",
         .branch = "cleanup",
         .name = "Purge idempotency keys past 24 h",
         .cron = "15 * * * *",
         .timezone = "UTC",
         .priority = 50},
        {.id = "cleanup.job_events",
         .branch = "cleanup",
         .name = "Trim job:events entries older than 7 days",
         .cron = "20 * * * *",
         .timezone = "UTC",
         .priority = 40},
        {.id = "cleanup.carts",
         .branch = "cleanup",
         .name = "Remove carts idle for 30 days",
         .cron = "30 3 * * *",
         .timezone = "Europe/Berlin",
         .priority = 30},
        // ---- test stack only (APP_ENV=test) ----
        {.id = "test.a", .branch = "test", .name = "test a", .priority = 50, .test_only = true},
        {.id = "test.b",
         .branch = "test",
         .name = "test b",
         .priority = 50,
         .depends_on = {"test.a"},
         .test_only = true},
        {.id = "test.c",
         .branch = "test",
         .name = "test c",
         .priority = 50,
         .depends_on = {"test.b"},
         .test_only = true},
        {.id = "test.low", .branch = "test", .name = "test low", .priority = 10, .test_only = true},
        {.id = "test.high",
         .branch = "test",
         .name = "test high",
         .priority = 95,
         .test_only = true},
        {.id = "testfail.fail",
         .branch = "testfail",
         .name = "always fails",
         .priority = 50,
         .attempts = 1,
         .test_only = true},
        {.id = "testfail.after",
         .branch = "testfail",
         .name = "after the failing job",
         .priority = 50,
         .depends_on = {"testfail.fail"},
         .test_only = true},
        {.id = "testfail.last",
         .branch = "testfail",
         .name = "after that one",
         .priority = 50,
         .depends_on = {"testfail.after"},
         .test_only = true},
        {.id = "testfail.independent",
         .branch = "testfail",
         .name = "depends on nothing",
         .priority = 50,
         .test_only = true},
    };
    return t;
}

}  // namespace

const std::vector<std::string>& branches() {
    static const std::vector<std::string> b = {"data", "cache", "image", "ai", "cleanup"};
    return b;
}

const std::vector<JobSpec>& all_jobs() {
    static const std::vector<JobSpec> t = make_table();
    return t;
}

bool test_jobs_enabled(const Config& config) {
    return config.app_env == "test";
}

const JobSpec* find_job(std::string_view id, bool with_test) {
    for (const auto& j : all_jobs())
        if (j.id == id && (with_test || !j.test_only)) return &j;
    return nullptr;
}

std::vector<const JobSpec*> branch_jobs(std::string_view branch, bool with_test) {
    std::vector<const JobSpec*> out;
    for (const auto& j : all_jobs())
        if (j.branch == branch && (with_test || !j.test_only)) out.push_back(&j);
    return out;
}

int queue_priority(int pipeline_priority) {
    return kMaxPriority - std::clamp(pipeline_priority, 0, kMaxPriority);
}

}  // namespace bazaar::pipelines

// Queue "pipelines": the queue options, the cron schedules of every pipeline
// job (from the one table, bazaar/pipelines/registry.hpp) and the handlers of
// the cleanup branch and of the test-stack branches. Handlers of the other
// branches register themselves the same way (PipelineJobRegistration) in
// their own files; a row without a linked handler is not scheduled
// (workers/worker.cpp).
#include "../pipeline_job.hpp"
#include "bazaar/pipelines/cleanup.hpp"
#include "bazaar/pipelines/registry.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;
namespace cleanup = bazaar::pipelines::cleanup;

const QueueRegistration kPipelinesQueue{pipelines::kQueue, {.concurrency = 2}};

// One schedule per table row with a cron; each tick is a job named after the
// row, marked as a tick so that a disabled job skips it.
const struct Schedules {
    Schedules() {
        for (const auto& spec : pipelines::all_jobs()) {
            if (spec.cron.empty() || spec.test_only) continue;
            Repeatable r;
            r.queue = pipelines::kQueue;
            r.key = spec.id;
            r.cron = spec.cron;
            r.timezone = spec.timezone;
            r.job.name = spec.id;
            r.job.data = {{"trigger", "cron"}};
            r.job.options.priority = pipelines::queue_priority(spec.priority);
            r.job.options.attempts = spec.attempts;
            r.job.options.remove_on_complete = {.age_s = 7 * 86400, .count = 1000};
            r.job.options.remove_on_fail = {.age_s = 7 * 86400, .count = 1000};
            JobRegistry::global().add_repeatable(std::move(r));
        }
    }
} kSchedules;

/* ---- cleanup ---- */

const PipelineJobRegistration kReservations{"cleanup.reservations", [](JobContext& job) {
                                                return cleanup::expire_reservations(job.backends());
                                            }};
const PipelineJobRegistration kIdempotencyKeys{
    "cleanup.idempotency_keys",
    [](JobContext& job) { return cleanup::purge_idempotency_keys(job.backends()); }};
const PipelineJobRegistration kJobEvents{
    "cleanup.job_events", [](JobContext& job) { return cleanup::trim_job_events(job.backends()); }};
const PipelineJobRegistration kCarts{
    "cleanup.carts", [](JobContext& job) { return cleanup::remove_idle_carts(job.backends()); }};

/* ---- test stack only: the wrapper refuses these ids unless APP_ENV=test ---- */

nlohmann::json ran(JobContext& job) {
    return {{"ran", job.name()}};
}
const PipelineJobRegistration kTestA{"test.a", ran};
const PipelineJobRegistration kTestB{"test.b", ran};
const PipelineJobRegistration kTestC{"test.c", ran};
const PipelineJobRegistration kTestLow{"test.low", ran};
const PipelineJobRegistration kTestHigh{"test.high", ran};
const PipelineJobRegistration kTestFail{"testfail.fail", [](JobContext&) -> nlohmann::json {
                                            throw PermanentFailure("injected failure");
                                        }};
const PipelineJobRegistration kTestAfter{"testfail.after", ran};
const PipelineJobRegistration kTestLast{"testfail.last", ran};
const PipelineJobRegistration kTestIndependent{"testfail.independent", ran};

}  // namespace

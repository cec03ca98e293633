#include "pipeline_job.hpp"

#include <chrono>

#include "bazaar/log.hpp"
#include "bazaar/pipelines/pipeline_service.hpp"
#include "bazaar/pipelines/registry.hpp"

namespace bazaar::worker {

namespace {

bool is_cron_tick(const nlohmann::json& data) {
    if (!data.is_object()) return false;
    auto it = data.find("trigger");
    return it != data.end() && it->is_string() && it->get_ref<const std::string&>() == "cron";
}

}  // namespace

void run_pipeline_job(JobContext& job, const PipelineBody& body) {
    auto& b = job.backends();
    const auto* spec = pipelines::find_job(job.name(), pipelines::test_jobs_enabled(b.config));
    if (!spec) throw PermanentFailure("not a pipeline job: " + job.name());
    if (is_cron_tick(job.data()) && !pipelines::is_enabled(b.pg, *spec)) {
        job.set_result({{"skipped", "disabled"}});
        return;
    }
    pipelines::record_start(b.pg, *spec, job.id());
    auto started = std::chrono::steady_clock::now();
    auto elapsed_ms = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
            .count();
    };
    try {
        nlohmann::json result = body(job);
        job.set_result(result);
        pipelines::record_finish(b.pg, *spec, job.id(), true, elapsed_ms(), result, "");
    } catch (const std::exception& e) {
        try {
            pipelines::record_finish(b.pg, *spec, job.id(), false, elapsed_ms(), nullptr, e.what());
        } catch (const std::exception& record_error) {
            // The job's own failure is what counts; the record is best effort.
            log::warn("pipeline run not recorded",
                      {{"job", job.id()}, {"error", record_error.what()}});
        }
        throw;
    }
}

PipelineJobRegistration::PipelineJobRegistration(std::string id, PipelineBody body) {
    JobRegistry::global().add_handler(
        pipelines::kQueue, id,
        [body = std::move(body)](JobContext& job) { run_pipeline_job(job, body); });
}

}  // namespace bazaar::worker

// Pipeline branch "data": data.import (catalog feeds from var/import/,
// pipelines/catalog_import.hpp) and data.sales_summary (sales_daily,
// pipelines/sales_summary.hpp).
//
// data.import data: {file?: "feed.csv", batchRows?: 1..5000}; without file,
// every waiting feed. Progress goes to job:events after each batch; the
// result lists per file what was imported, updated, unchanged and refused.
// data.sales_summary data: {day?: "YYYY-MM-DD" (default yesterday, UTC), days?: 1..366}.
#include "../pipeline_job.hpp"
#include "bazaar/error.hpp"
#include "bazaar/pipelines/catalog_import.hpp"
#include "bazaar/pipelines/pipeline_jobs.hpp"
#include "bazaar/pipelines/sales_summary.hpp"
#include "bazaar/queue/progress.hpp"
#include "pipeline_job_data.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;
namespace data = bazaar::worker::pipeline_data;

nlohmann::json import(JobContext& job) {
    std::string file = data::string_or(job.data(), "file", "");
    auto batch = data::integer_or(job.data(), "batchRows", pipelines::kBatchRows, 1, 5000);
    pipelines::ImportHooks hooks;
    hooks.progress = [&](const nlohmann::json& p) {
        queue::append_progress(job.backends().redis, job.queue(), job.id(), job.name(),
                               job.attempt(), p);
    };
    hooks.cancelled = [&] { return job.cancelled(); };
    try {
        return nlohmann::json(pipelines::import_feeds(job.backends(), job.id(), file, hooks,
                                                      static_cast<std::size_t>(batch)));
    } catch (const pipelines::ImportRefused& e) {
        throw PermanentFailure(e.what());
    } catch (const pipelines::ImportCancelled& e) {
        throw JobCancelled(e.what());
    }
}

nlohmann::json sales_summary(JobContext& job) {
    std::string day = data::string_or(job.data(), "day", "");
    auto days = data::integer_or(job.data(), "days", 1, 1, 366);
    try {
        auto out = pipelines::summarize_sales(job.backends(), day, static_cast<int>(days));
        return nlohmann::json({{"from", out.from}, {"to", out.to}, {"rows", out.rows}});
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kValidationFailed) throw;
        std::string why = e.what();
        for (const auto& d : e.details()) why += "; " + d.field + ": " + d.reason;
        throw PermanentFailure(why);
    }
}

const PipelineJobRegistration kImport{pipelines::kDataImport, import};
const PipelineJobRegistration kSales{pipelines::kDataSalesSummary, sales_summary};

}  // namespace

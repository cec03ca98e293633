// Pipeline branch "cache" (pipelines/cache_maintenance.hpp):
// cache.warm {limit?: 1..10000 (default 100), days?: 1..3650 (default 30)}
// cache.invalidate {pattern: "c:{book:*}:*"} — SCAN + pipelined UNLINK; a
// run without a pattern (its cron tick, a branch run) drops the whole read
// cache ("c:*"), which cache.warm then refills for the best sellers. Always
// safe: a missing body or generation is a miss, never a stale hit.
#include "../pipeline_job.hpp"
#include "bazaar/error.hpp"
#include "bazaar/pipelines/cache_maintenance.hpp"
#include "bazaar/pipelines/pipeline_jobs.hpp"
#include "pipeline_job_data.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;
namespace data = bazaar::worker::pipeline_data;

nlohmann::json warm(JobContext& job) {
    auto limit = data::integer_or(job.data(), "limit", 100, 1, 10000);
    auto days = data::integer_or(job.data(), "days", 30, 1, 3650);
    auto out =
        pipelines::warm_books(job.backends(), static_cast<int>(limit), static_cast<int>(days));
    return nlohmann::json({{"books", out.books},
                           {"warmed", out.warmed},
                           {"alreadyWarm", out.already_warm},
                           {"missing", out.missing}});
}

nlohmann::json invalidate(JobContext& job) {
    std::string pattern = data::string_or(job.data(), "pattern", "c:*");
    try {
        auto out = pipelines::invalidate_matching(job.backends().redis, pattern);
        return nlohmann::json(
            {{"pattern", pattern}, {"scanned", out.scanned}, {"removed", out.removed}});
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kValidationFailed) throw;
        throw PermanentFailure("pattern must be a glob of read-cache keys, starting with \"c:\"");
    }
}

const PipelineJobRegistration kWarm{pipelines::kCacheWarm, warm};
const PipelineJobRegistration kInvalidate{pipelines::kCacheInvalidate, invalidate};

}  // namespace

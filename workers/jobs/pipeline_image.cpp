// Pipeline branch "image": image.orphans (pipelines/image_orphans.hpp).
// Data {graceS?: seconds a file or row is left alone (default 3600: an
// upload in flight), stuckAfterS?: default 600}.
#include "../pipeline_job.hpp"
#include "bazaar/pipelines/image_orphans.hpp"
#include "bazaar/pipelines/pipeline_jobs.hpp"
#include "pipeline_job_data.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;
namespace data = bazaar::worker::pipeline_data;

nlohmann::json orphans(JobContext& job) {
    auto grace = data::integer_or(job.data(), "graceS", 3600, 0, 365 * 86400);
    auto stuck = data::integer_or(job.data(), "stuckAfterS", 600, 0, 365 * 86400);
    auto out = pipelines::clean_image_orphans(job.backends(), grace, stuck);
    return nlohmann::json({{"filesRemoved", out.files_removed},
                           {"rowsRemoved", out.rows_removed},
                           {"requeued", out.requeued},
                           {"givenUp", out.given_up}});
}

const PipelineJobRegistration kOrphans{pipelines::kImageOrphans, orphans};

}  // namespace

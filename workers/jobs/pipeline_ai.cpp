// Pipeline branch "ai": ai.recommendations (pipelines/recommendations.hpp),
// no data. Rebuilds the whole table in one transaction: a rerun is harmless.
#include "../pipeline_job.hpp"
#include "bazaar/pipelines/pipeline_jobs.hpp"
#include "bazaar/pipelines/recommendations.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

nlohmann::json recommendations(JobContext& job) {
    auto out = pipelines::rebuild_recommendations(job.backends());
    return nlohmann::json({{"rows", out.rows}, {"books", out.books}, {"orders", out.orders}});
}

const PipelineJobRegistration kRecommendations{pipelines::kAiRecommendations, recommendations};

}  // namespace

// Pipeline branch "ai": ai.recommendations (pipelines/recommendations.hpp),
// no data. Rebuilds the whole table in one transaction: a rerun is harmless.
#include "../job_registry.hpp"
#include "bazaar/pipelines/pipeline_jobs.hpp"
#include "bazaar/pipelines/recommendations.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

void recommendations(JobContext& job) {
    auto out = pipelines::rebuild_recommendations(job.backends());
    job.set_result({{"rows", out.rows}, {"books", out.books}, {"orders", out.orders}});
}

const JobRegistration kRecommendations{pipelines::kQueue, pipelines::kAiRecommendations,
                                       recommendations};

}  // namespace

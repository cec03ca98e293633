// The queue and job names of the pipeline jobs built on shared/src/pipelines
// (API.md §7): every pipeline job is an ordinary job of the queue
// "pipelines" whose name is the pipeline job id. The registry (which job
// runs when, in which branch, after which) enqueues them; the handlers are
// registered in workers/jobs/pipeline_*.cpp.
#pragma once

#include "bazaar/pipelines/registry.hpp"  // kQueue

namespace bazaar::pipelines {

inline constexpr const char* kDataImport = "data.import";
inline constexpr const char* kDataSalesSummary = "data.sales_summary";
inline constexpr const char* kCacheWarm = "cache.warm";
inline constexpr const char* kCacheInvalidate = "cache.invalidate";
inline constexpr const char* kImageOrphans = "image.orphans";
inline constexpr const char* kAiRecommendations = "ai.recommendations";

}  // namespace bazaar::pipelines

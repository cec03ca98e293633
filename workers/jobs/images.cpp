// Queue "images" (docs/images.md): `process` writes an upload's variants
// with libvips (shared/src/images), `image-orphan-cleanup` removes media files
// without a row and re-enqueues rows stuck in processing (run on demand; its
// schedule is the pipeline job image.orphans, shared/src/pipelines/registry.cpp,
// which does the same and also drops rows whose file is gone).
//
// Memory is bounded four ways: 2 image jobs per process by default
// (WORKER_QUEUE_CONCURRENCY=images=N to change), IMAGE_VIPS_CONCURRENCY
// libvips threads per operation, IMAGE_PIXEL_BUDGET pixels decoded at once
// across the jobs of this process, and the dimensions of each file (pixels,
// IMAGE_MAX_SIDE_PX per side, IMAGE_MAX_ASPECT_RATIO, checked from the
// header before a pixel is decoded; nothing is enlarged beyond a small
// bound: vips_engine.hpp). Time is bounded by IMAGE_JOB_TIMEOUT_MS: past it
// libvips is told to stop (from its "eval" progress signal, a C callback
// that cannot throw) and the image fails. A corrupt or hostile file is a
// result (the row becomes failed with the reason), never a crash: libvips
// errors come back as exceptions from vips-cpp calls, and images::process
// converts them.
#include <charconv>

#include "../job_registry.hpp"
#include "bazaar/images/image_service.hpp"
#include "bazaar/log.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

images::PixelBudget& budget(const Config& c) {
    static images::PixelBudget b(c.image_pixel_budget);
    return b;
}

std::int64_t id_of(const nlohmann::json& data) {
    auto it = data.find("imageId");
    std::int64_t id = 0;
    if (it != data.end() && it->is_string()) {
        const auto& s = it->get_ref<const std::string&>();
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
        if (ec == std::errc() && p == s.data() + s.size() && id > 0) return id;
    }
    throw PermanentFailure("job data needs imageId (a positive integer as a string)");
}

void process(JobContext& job) {
    Backends& b = job.backends();
    auto outcome = images::process(b, id_of(job.data()), budget(b.config));
    nlohmann::json result = {{"status", outcome.status}};
    if (!outcome.reason.empty()) result["reason"] = outcome.reason;
    job.set_result(std::move(result));
}

std::int64_t seconds_or(const nlohmann::json& data, const char* key, std::int64_t fallback) {
    auto it = data.find(key);
    if (it == data.end()) return fallback;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 0)
        throw PermanentFailure(std::string(key) + " must be a non-negative integer");
    return it->get<std::int64_t>();
}

void cleanup(JobContext& job) {
    // The data may shorten the delays (an operator, the tests); the cron
    // schedule uses the defaults: files older than 1 h, rows idle for 10 min.
    auto out = images::cleanup(job.backends(), seconds_or(job.data(), "graceS", 3600),
                               seconds_or(job.data(), "stuckAfterS", 600));
    job.set_result({{"filesRemoved", out.files_removed},
                    {"requeued", out.requeued},
                    {"givenUp", out.given_up}});
}

const QueueRegistration kImagesQueue{images::kQueue, {.concurrency = 2}};
const JobRegistration kProcess{images::kQueue, images::kProcessJob, process};
const JobRegistration kCleanup{images::kQueue, images::kCleanupJob, cleanup};
}  // namespace

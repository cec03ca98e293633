#include "bazaar/queue/progress.hpp"

#include "bazaar/log.hpp"
#include "bazaar/queue/keys.hpp"

namespace bazaar::queue {

void append_progress(Redis& redis, std::string_view queue, std::string_view job_id,
                     std::string_view name, int attempt, const nlohmann::json& progress) {
    RedisArgs a{"XADD", kEventsKey, "MAXLEN", "~"};
    a.add(static_cast<std::int64_t>(kEventsMaxLen));
    a.add("*").add("queue").add(queue).add("jobId").add(job_id).add("name").add(name);
    a.add("state").add("progress").add("attempt").add(static_cast<std::int64_t>(attempt));
    a.add("progress").add(progress.dump());
    try {
        redis.command(a);
    } catch (const std::exception& e) {
        log::warn("job progress event not sent", {{"jobId", job_id}, {"error", e.what()}});
    }
}

}  // namespace bazaar::queue

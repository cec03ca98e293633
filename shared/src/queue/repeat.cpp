#include "bazaar/queue/repeat.hpp"

#include <algorithm>
#include <string>

namespace bazaar::queue {

namespace {
std::int64_t to_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
}  // namespace

TickOutcome enqueue_next_tick(Redis& redis, std::string_view queue, std::string_view schedule_key,
                              const CronExpression& cron, NewJob job,
                              std::chrono::system_clock::time_point now) {
    TickOutcome out;
    out.tick_ms = to_ms(cron.next_after(now));
    job.options.job_id = "repeat:" + std::string(schedule_key) + ":" + std::to_string(out.tick_ms);
    job.options.delay_ms = std::max<std::int64_t>(out.tick_ms - to_ms(now), 0);
    out.added = add_repeat_tick(redis, queue, schedule_key, out.tick_ms, job);
    return out;
}

}  // namespace bazaar::queue

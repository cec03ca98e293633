// One step of a cron schedule, as bazaar-worker's scheduler takes it every
// second (and as the tests take it with a simulated clock): enqueue the next
// tick after `now` as a job delayed until then, with the per-schedule guard
// of add_repeat_tick(), so that any number of processes calling this for the
// same schedule enqueue each tick once. The job id is
// "repeat:<schedule key>:<tick ms>".
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "bazaar/queue/cron.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::queue {

struct TickOutcome {
    std::int64_t tick_ms = 0;  // the tick considered (remember it: the same tick needs no call)
    bool added = false;        // this call enqueued it
};

TickOutcome enqueue_next_tick(Redis& redis, std::string_view queue, std::string_view schedule_key,
                              const CronExpression& cron, NewJob job,
                              std::chrono::system_clock::time_point now);

}  // namespace bazaar::queue

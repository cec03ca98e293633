// Pipelines against the stack's Redis, Postgres and bazaar-worker:
//   - a cron tick in a DST zone (Europe/Berlin, autumn change) is enqueued
//     once by two schedulers racing over a simulated clock (the step each
//     worker's scheduler takes every second: queue::enqueue_next_tick);
//   - cleanup.job_events' trim removes exactly the entries older than its cutoff;
//   - a cron tick of a disabled pipeline job is completed without running it.
#include <gtest/gtest.h>

#include <date/date.h>

#include <atomic>
#include <thread>

#include "backend_env.hpp"
#include "bazaar/backends.hpp"
#include "bazaar/pipelines/cleanup.hpp"
#include "bazaar/pipelines/pipeline_service.hpp"
#include "bazaar/queue/admin.hpp"
#include "bazaar/queue/repeat.hpp"
#include "bazaar/time.hpp"

using namespace bazaar;
using namespace std::chrono;

namespace {

Redis connect(const Config& c) {
    return Redis(redis_options(c));
}

const Config& config() {
    static const Config c = [] {
        Config c = stacktest::stack_config();
        load_scripts(c.lua_dir);
        return c;
    }();
    return c;
}

sys_time<milliseconds> utc(int y, int mo, int d, int h, int mi) {
    return date::sys_days{date::year{y} / mo / d} + hours{h} + minutes{mi};
}

}  // namespace

TEST(PipelineCron, ADailyBerlinTickAcrossTheAutumnChangeIsEnqueuedOnceByTwoSchedulers) {
    const Config& c = config();
    const std::string q = "pipetest-" + random_hex(4);
    // 02:30 local happens twice on 2026-10-25 (CEST 00:30Z, then CET 01:30Z):
    // a fixed-hour job runs at the first one only.
    auto cron = queue::CronExpression::parse("30 2 * * *", "Europe/Berlin");
    queue::NewJob job{"tick", {{"trigger", "cron"}}, {}};
    std::atomic<int> added{0};
    auto scheduler = [&] {
        Redis r = connect(c);
        std::int64_t seen = 0;  // what Scheduler keeps per schedule
        // Every 20 s of simulated time from 00:00 to 04:00 local (CEST → CET).
        for (auto now = utc(2026, 10, 24, 22, 0); now < utc(2026, 10, 25, 3, 0);
             now += seconds(20)) {
            if (duration_cast<milliseconds>(cron.next_after(now).time_since_epoch()).count() ==
                seen)
                continue;
            auto t = queue::enqueue_next_tick(r, q, "berlin-daily", cron, job, now);
            if (t.added) ++added;
            seen = t.tick_ms;
        }
    };
    std::thread a(scheduler), b(scheduler);
    a.join();
    b.join();
    // Ticks considered: 02:30 CEST on the 25th, then 02:30 on the 26th.
    EXPECT_EQ(added.load(), 2);
    Redis r = connect(c);
    auto counts = queue::counts(r, q);
    EXPECT_EQ(counts.delayed + counts.waiting, 2);
    auto first = duration_cast<milliseconds>(utc(2026, 10, 25, 0, 30).time_since_epoch()).count();
    auto second = duration_cast<milliseconds>(utc(2026, 10, 26, 1, 30).time_since_epoch()).count();
    EXPECT_TRUE(queue::get_job(r, q, "repeat:berlin-daily:" + std::to_string(first)).has_value());
    EXPECT_TRUE(queue::get_job(r, q, "repeat:berlin-daily:" + std::to_string(second)).has_value());
    // Not the second 02:30 of the 25th (01:30Z).
    auto repeated =
        duration_cast<milliseconds>(utc(2026, 10, 25, 1, 30).time_since_epoch()).count();
    EXPECT_FALSE(
        queue::get_job(r, q, "repeat:berlin-daily:" + std::to_string(repeated)).has_value());
    queue::drain(r, q);
}

TEST(PipelineCleanup, TrimStreamRemovesExactlyTheEntriesOlderThanTheCutoff) {
    Redis r = connect(config());
    const std::string key = "pipetest:stream:" + random_hex(4);
    auto now = system_clock::now();
    auto ms = [&](auto ago) {
        return std::to_string(duration_cast<milliseconds>((now - ago).time_since_epoch()).count());
    };
    const auto week = hours(7 * 24);
    std::vector<std::string> ids = {ms(week + hours(24)) + "-0", ms(week + minutes(1)) + "-0",
                                    ms(week + minutes(1)) + "-1", ms(week - minutes(1)) + "-0",
                                    ms(hours(1)) + "-0"};
    for (const auto& id : ids) r.command({"XADD", key, id, "f", "v"});
    EXPECT_EQ(pipelines::cleanup::trim_stream(r, key, week, now), 3);
    auto left = r.command({"XRANGE", key, "-", "+"});
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left.at(0).at(0).str(), ids[3]);
    EXPECT_EQ(left.at(1).at(0).str(), ids[4]);
    EXPECT_EQ(pipelines::cleanup::trim_stream(r, key, week, now), 0);  // nothing more to remove
    r.command({"DEL", key});
}

TEST(PipelineSettings, ACronTickOfADisabledJobIsSkippedAndAnExplicitRunIsNot) {
    const Config& c = config();
    Backends b(c);
    const auto* spec = pipelines::find_job("cleanup.job_events", false);
    ASSERT_NE(spec, nullptr);
    pipelines::set_enabled(b, *spec, false);
    auto wait_done = [&](const std::string& id) {
        for (int i = 0; i < 300; ++i) {
            auto j = queue::get_job(b.redis, pipelines::kQueue, id);
            if (j && ((*j)["state"] == "completed" || (*j)["state"] == "failed")) return *j;
            std::this_thread::sleep_for(milliseconds(100));
        }
        ADD_FAILURE() << "job " << id << " did not finish";
        return nlohmann::json();
    };
    // A tick as the scheduler enqueues it (workers/jobs/pipelines.cpp).
    queue::NewJob tick{spec->id, {{"trigger", "cron"}}, {}};
    tick.options.job_id = "repeat:backend-test:" + random_hex(4);
    queue::add(b.redis, pipelines::kQueue, tick);
    auto skipped = wait_done(tick.options.job_id);
    EXPECT_EQ(skipped["state"], "completed");
    EXPECT_EQ(skipped["returnValue"], nlohmann::json({{"skipped", "disabled"}}));

    // An operator's run of the disabled job does run it.
    auto run = pipelines::run_job(b, spec->id);
    auto ran = wait_done(pipelines::queue_job_id(run.run_id, spec->id));
    EXPECT_EQ(ran["state"], "completed");
    EXPECT_TRUE(ran["returnValue"].contains("removed"));
    pipelines::set_enabled(b, *spec, true);
    EXPECT_TRUE(pipelines::is_enabled(b.pg, *spec));
}

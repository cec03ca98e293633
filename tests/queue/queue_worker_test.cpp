// bazaar-worker as a process: real runner, real Redis and Postgres, test
// handlers (test_worker.cpp) that write to Postgres. These prove the promises
// that need processes to die: no job lost, none completed twice.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <sstream>

#include "bazaar/queue/admin.hpp"
#include "bazaar/queue/consumer.hpp"
#include "bazaar/queue/events.hpp"
#include "bazaar/queue/producer.hpp"
#include "queue_test_support.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::queue;
using std::chrono::seconds;

class QueueWorker : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { qt::create_test_tables(); }

    void SetUp() override {
        r = qt::redis();
        std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        name = qt::unique_queue(test.substr(0, 20));
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
            return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
        });
    }

    std::map<std::string, std::string> worker_env(std::map<std::string, std::string> extra = {}) {
        std::map<std::string, std::string> env{
            {"TEST_WORKER_QUEUES", name}, {"WORKER_THREADS", "4"}, {"QUEUE_LEASE_MS", "2000"}};
        for (auto& [k, v] : extra) env[k] = v;
        return env;
    }

    std::int64_t done_rows(const std::string& where = "true") {
        return qt::sql_int("SELECT count(*) FROM queue_test_done WHERE queue = '" + name +
                           "' AND " + where);
    }
    std::int64_t finished() {
        auto c = counts(*r, name);
        return c.completed + c.failed;
    }

    std::unique_ptr<Redis> r;
    std::string name;
};

TEST_F(QueueWorker, RunsJobsAndStoresTheirResults) {
    qt::WorkerProcess w(worker_env());
    std::vector<NewJob> jobs;
    for (int i = 0; i < 50; ++i) jobs.push_back({"echo", {{"record", true}, {"result", i}}, {}});
    auto ids = add_bulk(*r, name, jobs);
    ASSERT_TRUE(qt::eventually([&] { return counts(*r, name).completed == 50; }, seconds(60)));
    EXPECT_EQ(done_rows(), 50);
    EXPECT_EQ(qt::sql_int("SELECT count(DISTINCT job_id) FROM queue_test_done WHERE queue = '" +
                          name + "'"),
              50);
    EXPECT_EQ(get_job(*r, name, ids[7]).value()["returnValue"], 7);
}

TEST_F(QueueWorker, IdleWorkerBlocksInRedisAndWakesForANewJob) {
    qt::WorkerProcess w(worker_env());
    // An idle fetcher sits in BZPOPMIN on the queue's marker: no polling.
    auto blocked = [&] {
        // (cluster pass: a keyless command goes to the node of the previous
        // one, so name the queue's node first)
        r->command({"EXISTS", QueueKeys(name).meta});
        std::string clients(r->command({"CLIENT", "LIST"}).str());
        std::istringstream lines(clients);
        for (std::string line; std::getline(lines, line);) {
            if (line.find(" name=fetch:" + name + ":") != std::string::npos &&
                line.find(" cmd=bzpopmin") != std::string::npos)
                return true;
        }
        return false;
    };
    ASSERT_TRUE(qt::eventually(blocked, seconds(30)));
    std::string id = add(*r, name, {"wake", {{"record", true}}, {}});
    ASSERT_TRUE(qt::eventually([&] { return counts(*r, name).completed == 1; }, seconds(30)));
    EXPECT_EQ(done_rows("job_id = '" + id + "'"), 1);
}

// A worker killed with -9 while it holds jobs: each job completes exactly once,
// on the other worker, after its lease runs out.
TEST_F(QueueWorker, KilledWorkersJobsCompleteExactlyOnceOnAnother) {
    constexpr int kJobs = 40;
    std::vector<NewJob> jobs;
    for (int i = 0; i < kJobs; ++i)
        jobs.push_back({"slow", {{"started", true}, {"sleepMs", 1500}, {"record", true}}, {}});
    auto doomed = std::make_unique<qt::WorkerProcess>(worker_env());
    pid_t doomed_pid = doomed->pid();
    auto ids = add_bulk(*r, name, jobs);
    auto started_by_doomed = [&] {
        return qt::sql_int("SELECT count(*) FROM queue_test_started WHERE queue = '" + name +
                           "' AND pid = " + std::to_string(doomed_pid));
    };
    ASSERT_TRUE(qt::eventually([&] { return started_by_doomed() >= 4; }, seconds(60)));
    doomed->signal(SIGKILL);
    EXPECT_EQ(doomed->wait_exit(seconds(10)), 128 + SIGKILL);

    qt::WorkerProcess survivor(worker_env());
    ASSERT_TRUE(qt::eventually([&] { return counts(*r, name).completed == kJobs; }, seconds(120)))
        << "completed: " << counts(*r, name).completed;

    // Exactly one completion row per job: none lost, none twice.
    EXPECT_EQ(done_rows(), kJobs);
    EXPECT_EQ(qt::sql_int("SELECT count(DISTINCT job_id) FROM queue_test_done WHERE queue = '" +
                          name + "'"),
              kJobs);
    // Every job the dead worker started without finishing was taken back and
    // completed by the survivor.
    std::int64_t orphaned = qt::sql_int(
        "SELECT count(*) FROM queue_test_started s WHERE s.queue = '" + name +
        "' AND s.pid = " + std::to_string(doomed_pid) +
        " AND NOT EXISTS (SELECT 1 FROM queue_test_done d WHERE d.queue = s.queue AND d.job_id = "
        "s.job_id AND d.pid = s.pid)");
    EXPECT_GE(orphaned, 1);
    EXPECT_EQ(qt::sql_int("SELECT count(*) FROM queue_test_started s JOIN queue_test_done d USING "
                          "(queue, job_id) WHERE s.queue = '" +
                          name + "' AND s.pid = " + std::to_string(doomed_pid) +
                          " AND d.pid = " + std::to_string(survivor.pid())),
              orphaned);
    // They came back as stalls, not as used attempts: the ones it ran and the
    // ones it held ready (at most 2 x WORKER_THREADS in all).
    int with_stall = 0;
    for (const auto& id : ids) {
        auto h = qt::job_hash(*r, name, id);
        if (h["stc"] == "1") {
            ++with_stall;
            EXPECT_EQ(h["atm"], "1");
        }
    }
    EXPECT_GE(with_stall, orphaned);
    EXPECT_LE(with_stall, 8);
}

// 20,000 jobs, random planned failures, two worker processes: each job ends
// completed or failed with the attempt count its plan implies, none missing,
// none completed twice.
TEST_F(QueueWorker, TwentyThousandJobsOnTwoWorkersEndExactlyAsPlanned) {
    constexpr int kJobs = 20000;
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> plan(0, 5);  // failures before success; >= 3 never succeeds
    std::vector<NewJob> jobs;
    std::vector<int> fails;
    for (int i = 0; i < kJobs; ++i) {
        int f = plan(rng);
        f = f <= 2 ? 0 : f - 2;  // half succeed at once, the rest fail 1, 2 or 3 times
        fails.push_back(f);
        NewJob j{"planned", {{"failAttempts", f}, {"record", true}}, {}};
        j.options.attempts = 3;
        j.options.backoff = {Backoff::Type::kFixed, 0};
        jobs.push_back(std::move(j));
    }
    qt::WorkerProcess a(worker_env({{"LOG_LEVEL", "warn"}}));
    qt::WorkerProcess b(worker_env({{"LOG_LEVEL", "warn"}}));
    auto ids = add_bulk(*r, name, jobs);
    ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
    ASSERT_TRUE(qt::eventually([&] { return finished() == kJobs; }, seconds(400)))
        << "finished: " << finished();

    int expect_completed = 0;
    std::vector<RedisArgs> reads;
    QueueKeys k(name);
    for (auto& id : ids) reads.push_back({"HMGET", k.job(id), "state", "atm"});
    auto replies = r->pipeline(reads);
    for (int i = 0; i < kJobs; ++i) {
        std::string st(replies[i].at(0).str());
        auto atm = replies[i].at(1).integer();
        if (fails[i] >= 3) {
            EXPECT_EQ(st, "failed") << ids[i];
            EXPECT_EQ(atm, 3) << ids[i];
        } else {
            ++expect_completed;
            EXPECT_EQ(st, "completed") << ids[i];
            EXPECT_EQ(atm, fails[i] + 1) << ids[i];
        }
    }
    auto c = counts(*r, name);
    EXPECT_EQ(c.completed, expect_completed);
    EXPECT_EQ(c.failed, kJobs - expect_completed);
    EXPECT_EQ(c.active + c.waiting + c.delayed, 0);
    EXPECT_EQ(done_rows(), expect_completed);
    EXPECT_EQ(qt::sql_int("SELECT count(DISTINCT job_id) FROM queue_test_done WHERE queue = '" +
                          name + "'"),
              expect_completed);
    // Both processes did work.
    EXPECT_EQ(
        qt::sql_int("SELECT count(DISTINCT pid) FROM queue_test_done WHERE queue = '" + name + "'"),
        2);
}

// Redis restarted under load: the worker reconnects and every job completes;
// a job may only run twice if Redis lost the reply of its take (a stall).
TEST_F(QueueWorker, RedisRestartMidRunLosesNoJob) {
    constexpr int kJobs = 2000;
    qt::WorkerProcess w(worker_env());
    std::vector<NewJob> jobs;
    for (int i = 0; i < kJobs; ++i) jobs.push_back({"io", {{"sleepMs", 2}, {"record", true}}, {}});
    auto ids = add_bulk(*r, name, jobs);
    ASSERT_TRUE(qt::eventually([&] { return counts(*r, name).completed >= 200; }, seconds(60)));
    ASSERT_EQ(std::system((std::string(BAZAAR_SOURCE_DIR) +
                           "/scripts/stack _test-svc restart redis >/dev/null 2>&1")
                              .c_str()),
              0);
    r = qt::redis();
    ASSERT_TRUE(qt::eventually(
        [&] {
            try {
                return counts(*r, name).completed == kJobs;
            } catch (const std::exception&) {
                return false;
            }
        },
        seconds(120)));
    EXPECT_EQ(qt::sql_int("SELECT count(DISTINCT job_id) FROM queue_test_done WHERE queue = '" +
                          name + "'"),
              kJobs);
    std::int64_t twice = done_rows() - kJobs;
    std::int64_t stalled = 0;
    QueueKeys k(name);
    std::vector<RedisArgs> reads;
    for (auto& id : ids) reads.push_back({"HGET", k.job(id), "stc"});
    for (auto& rep : r->pipeline(reads)) stalled += rep.integer() > 0 ? 1 : 0;
    EXPECT_LE(twice, stalled);
}

TEST_F(QueueWorker, CronTickRunsOnceWithTwoWorkers) {
    auto env = worker_env({{"TEST_CRON", name + "|every-minute|* * * * *|Europe/Berlin"}});
    qt::WorkerProcess a(env);
    qt::WorkerProcess b(env);
    // Both schedulers race to enqueue the next tick: one job exists for it.
    ASSERT_TRUE(qt::eventually([&] { return counts(*r, name).delayed == 1; }, seconds(30)));
    auto first = list_jobs(*r, name, "delayed", 10, std::nullopt).items;
    ASSERT_EQ(first.size(), 1u);
    std::string tick_id = first[0]["id"];
    EXPECT_EQ(tick_id.rfind("repeat:every-minute:", 0), 0u);
    // When it runs, the next tick is scheduled, again once.
    ASSERT_TRUE(
        qt::eventually([&] { return done_rows("job_id = '" + tick_id + "'") >= 1; }, seconds(90)));
    ASSERT_TRUE(qt::eventually(
        [&] {
            auto d = list_jobs(*r, name, "delayed", 10, std::nullopt).items;
            return d.size() == 1 && d[0]["id"] != tick_id;
        },
        seconds(30)));
    EXPECT_EQ(done_rows("job_id = '" + tick_id + "'"), 1);
    EXPECT_EQ(done_rows(), 1);
}

TEST_F(QueueWorker, SigtermLetsShortJobsFinishAndGivesLongOnesBack) {
    auto env = worker_env({{"WORKER_SHUTDOWN_GRACE_MS", "1000"}});
    qt::WorkerProcess w(env);
    std::string short_id =
        add(*r, name, {"short", {{"started", true}, {"sleepMs", 300}, {"record", true}}, {}});
    std::string long_id =
        add(*r, name, {"long", {{"started", true}, {"sleepMs", 600000}, {"record", true}}, {}});
    ASSERT_TRUE(qt::eventually(
        [&] {
            return qt::sql_int("SELECT count(*) FROM queue_test_started WHERE queue = '" + name +
                               "'") == 2;
        },
        seconds(30)));
    w.signal(SIGTERM);
    EXPECT_EQ(w.wait_exit(seconds(30)), 0);
    auto s = qt::job_hash(*r, name, short_id);
    auto l = qt::job_hash(*r, name, long_id);
    EXPECT_EQ(s["state"], "completed");
    EXPECT_EQ(l["state"], "waiting") << "released for another worker";
    EXPECT_EQ(l["atm"], "0");
    EXPECT_EQ(l["stc"], "0");
    EXPECT_EQ(done_rows(), 1);
}

TEST_F(QueueWorker, JobPastItsTimeoutFailsAndIsRetried) {
    qt::WorkerProcess w(worker_env());
    NewJob j{"slow", {{"sleepMs", 60000}}, {}};
    j.options.timeout_ms = 300;
    j.options.attempts = 2;
    j.options.backoff = {Backoff::Type::kFixed, 0};
    std::string id = add(*r, name, j);
    ASSERT_TRUE(qt::eventually([&] { return counts(*r, name).failed == 1; }, seconds(60)));
    auto h = qt::job_hash(*r, name, id);
    EXPECT_EQ(h["atm"], "2");
    EXPECT_EQ(h["err"], "timed out after 300 ms");
}

TEST_F(QueueWorker, RateLimitedQueueStillRunsEveryJob) {
    qt::WorkerProcess w(worker_env({{"TEST_RATE_LIMIT", name + "=5/200"}}));
    std::vector<NewJob> jobs(20, NewJob{"limited", {{"record", true}}, {}});
    add_bulk(*r, name, jobs);
    ASSERT_TRUE(qt::eventually([&] { return counts(*r, name).completed == 20; }, seconds(60)));
    EXPECT_EQ(done_rows(), 20);
}

TEST_F(QueueWorker, OutboxRelayDeliversCommittedJobs) {
    qt::WorkerProcess w(worker_env({{"WORKER_OUTBOX_RELAY", "1"}}));
    qt::pg().transact([&](pqxx::work& tx) {
        add_in_transaction(tx, name, {"from-outbox", {{"record", true}}, {}});
    });
    ASSERT_TRUE(qt::eventually([&] { return done_rows() == 1; }, seconds(60)));
}

}  // namespace

// Issue 7: EveryStateChangeIsAppendedToJobEvents (queue_scripts_test) appends
// the events itself; this one proves the worker does: a job that fails once,
// waits out its backoff and then completes leaves its whole story in
// job:events.
TEST_F(QueueWorker, WorkerAppendsEveryStateChangeToJobEvents) {
    qt::WorkerProcess w(worker_env());
    JobOptions o;
    o.attempts = 2;
    // Not 0: with an immediate retry the fetcher's "active" and the failed
    // run's "waiting" are pushed by two threads at once and may reach the
    // stream in either order (docs/queues.md: job:events order is per thread).
    o.backoff = {Backoff::Type::kFixed, 300};
    std::string id = add(*r, name, {"echo", {{"failAttempts", 1}}, o});
    auto story = [&] {
        std::vector<std::string> states;
        for (auto& e : read_events(*r, 10000))
            if (e["queue"] == name && e["jobId"] == id) states.push_back(e["state"]);
        std::reverse(states.begin(), states.end());  // read_events is newest first
        return states;
    };
    ASSERT_TRUE(qt::eventually([&] { return story().size() >= 6; }, seconds(30)));
    EXPECT_EQ(story(), (std::vector<std::string>{"waiting", "active", "delayed", "waiting",
                                                 "active", "completed"}));
}

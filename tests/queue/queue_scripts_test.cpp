// The queue's state machine, one Lua script call at a time, against the test
// stack's Redis: every option of API.md §7 and every state change. Time is
// never waited for: a delayed job is made due by moving its score, and
// backoff is checked on the score the script wrote.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "bazaar/error.hpp"
#include "bazaar/queue/admin.hpp"
#include "bazaar/queue/consumer.hpp"
#include "bazaar/queue/events.hpp"
#include "bazaar/queue/job_json.hpp"
#include "bazaar/queue/outbox_relay.hpp"
#include "bazaar/queue/producer.hpp"
#include "queue_test_support.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::queue;

constexpr std::int64_t kLease = 30000;

class QueueScripts : public ::testing::Test {
  protected:
    void SetUp() override {
        r = qt::redis();
        name = qt::unique_queue(
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())
                .substr(0, 40));
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
            return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '-';
        });
        k = std::make_unique<QueueKeys>(name);
    }

    std::string add_job(NewJob job) { return add(*r, name, job); }
    std::string add_named(const std::string& job_name, JobOptions o = {}) {
        return add_job({job_name, {{"n", job_name}}, std::move(o)});
    }
    TakeResult take_n(int n) { return take(*r, *k, n, kLease, "tw"); }
    TakenJob take_one() {
        auto t = take_n(1);
        EXPECT_EQ(t.jobs.size(), 1u);
        return t.jobs.empty() ? TakenJob{} : t.jobs[0];
    }
    std::string finish_one(const TakenJob& j, Finish::Outcome o, std::string payload = "") {
        auto f = finish(*r, *k, {{j.id, j.token, o, std::move(payload)}});
        return f.states.at(0);
    }
    std::string state(const std::string& id) { return qt::job_hash(*r, name, id)["state"]; }
    std::string field(const std::string& id, const std::string& f) {
        return qt::job_hash(*r, name, id)[f];
    }
    std::int64_t zscore(const std::string& key, const std::string& id) {
        return r->command({"ZSCORE", key, id}).integer();
    }
    // Makes a delayed job due now, as if its time had come.
    void make_due(const std::string& id) {
        r->command(RedisArgs{"ZADD", k->delayed}.add(qt::redis_now_ms(*r) - 1).add(id));
    }
    // Makes an active job's lease run out, as if its worker had died.
    void expire_lease(const std::string& id) {
        r->command(RedisArgs{"ZADD", k->active}.add(qt::redis_now_ms(*r) - 1).add(id));
    }

    std::unique_ptr<Redis> r;
    std::string name;
    std::unique_ptr<QueueKeys> k;
};

/* ---- add, take, dedupe, priority ---- */

TEST_F(QueueScripts, AddedJobIsWaitingAndTakenUnderALease) {
    std::string id = add_job({"hello", {{"x", 1}}, {}});
    EXPECT_EQ(state(id), "waiting");
    auto queues = known_queues(*r);
    EXPECT_NE(std::find(queues.begin(), queues.end(), name), queues.end());

    std::int64_t before = qt::redis_now_ms(*r);
    auto j = take_one();
    std::int64_t after = qt::redis_now_ms(*r);
    EXPECT_EQ(j.id, id);
    EXPECT_EQ(j.name, "hello");
    EXPECT_EQ(nlohmann::json::parse(j.data), (nlohmann::json{{"x", 1}}));
    EXPECT_EQ(j.attempt, 1);
    EXPECT_FALSE(j.token.empty());
    EXPECT_EQ(state(id), "active");
    EXPECT_EQ(field(id, "tok"), j.token);
    std::int64_t lease_until = zscore(k->active, id);
    EXPECT_GE(lease_until, before + kLease);
    EXPECT_LE(lease_until, after + kLease);
    EXPECT_TRUE(take_n(5).jobs.empty());
}

TEST_F(QueueScripts, ExistingJobIdMakesAddANoOp) {
    JobOptions o;
    o.job_id = "order-42";
    EXPECT_EQ(add_job({"a", {{"v", 1}}, o}), "order-42");
    EXPECT_EQ(add_job({"a", {{"v", 2}}, o}), "order-42");
    auto c = counts(*r, name);
    EXPECT_EQ(c.waiting, 1);
    EXPECT_EQ(nlohmann::json::parse(field("order-42", "data"))["v"], 1);
}

TEST_F(QueueScripts, LowerPriorityNumberRunsFirstAndFifoWithinAPriority) {
    auto o = [](int p) {
        JobOptions x;
        x.priority = p;
        return x;
    };
    std::string a = add_named("a", o(5)), b = add_named("b", o(0)), c = add_named("c", o(5)),
                d = add_named("d", o(1)), e = add_named("e", o(0));
    auto t = take_n(10);
    std::vector<std::string> order;
    for (auto& j : t.jobs) order.push_back(j.id);
    EXPECT_EQ(order, (std::vector<std::string>{b, e, d, a, c}));
}

TEST_F(QueueScripts, AddBulkAddsEveryJobAndAppendsEvents) {
    std::vector<NewJob> jobs;
    for (int i = 0; i < 1200; ++i) jobs.push_back({"bulk", {{"i", i}}, {}});
    auto ids = add_bulk(*r, name, jobs);
    ASSERT_EQ(ids.size(), 1200u);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1200u);
    EXPECT_EQ(counts(*r, name).waiting, 1200);
    auto events = read_events(*r, 50);
    bool seen = false;
    for (auto& e : events)
        seen = seen || (e["queue"] == name && e["state"] == "waiting" && e["jobId"] == ids.back());
    EXPECT_TRUE(seen);
}

TEST_F(QueueScripts, InvalidOptionsAreRejectedBeforeRedis) {
    JobOptions o;
    o.priority = -1;
    EXPECT_THROW(add_named("x", o), Error);
    o = {};
    o.job_id = "123";
    EXPECT_THROW(add_named("x", o), Error);
    EXPECT_THROW(add(*r, "Bad Queue", {"x", {}, {}}), Error);
    EXPECT_EQ(counts(*r, name).waiting, 0);
}

/* ---- delayed, backoff ---- */

TEST_F(QueueScripts, DelayedJobRunsOnlyOnceDue) {
    JobOptions o;
    o.delay_ms = 60000;
    std::string id = add_named("later", o);
    EXPECT_EQ(state(id), "delayed");
    EXPECT_EQ(zscore(k->delayed, id), std::stoll(field(id, "ts")) + 60000);
    auto t = take_n(1);
    EXPECT_TRUE(t.jobs.empty());
    EXPECT_EQ(t.status, TakeResult::Status::kEmpty);
    EXPECT_GT(t.wait_ms, 0);
    EXPECT_LE(t.wait_ms, 60000);
    make_due(id);
    EXPECT_EQ(take_one().id, id);
}

TEST_F(QueueScripts, FixedBackoffSchedulesEachRetryTheSameDelayAfterTheFailure) {
    JobOptions o;
    o.attempts = 3;
    o.backoff = {Backoff::Type::kFixed, 5000};
    std::string id = add_named("fixed", o);
    for (int attempt = 1; attempt <= 2; ++attempt) {
        auto j = take_one();
        EXPECT_EQ(j.attempt, attempt);
        std::int64_t t0 = qt::redis_now_ms(*r);
        EXPECT_EQ(finish_one(j, Finish::Outcome::kFail, "boom"), "delayed");
        std::int64_t t1 = qt::redis_now_ms(*r);
        std::int64_t due = zscore(k->delayed, id);
        EXPECT_GE(due, t0 + 5000);
        EXPECT_LE(due, t1 + 5000);
        EXPECT_EQ(field(id, "atm"), std::to_string(attempt));
        EXPECT_EQ(field(id, "err"), "boom");
        make_due(id);
    }
    auto j = take_one();
    EXPECT_EQ(j.attempt, 3);
    EXPECT_EQ(finish_one(j, Finish::Outcome::kFail, "last"), "failed");
    EXPECT_EQ(state(id), "failed");
    EXPECT_EQ(field(id, "atm"), "3");
    auto dlq = r->command({"LRANGE", k->dlq, "0", "-1"});
    ASSERT_EQ(dlq.size(), 1u);
    auto letter = nlohmann::json::parse(dlq.at(0).str());
    EXPECT_EQ(letter["id"], id);
    EXPECT_EQ(letter["error"], "last");
    EXPECT_EQ(letter["attempts"], 3);
}

TEST_F(QueueScripts, ExponentialBackoffDoublesAfterEachFailure) {
    JobOptions o;
    o.attempts = 4;
    o.backoff = {Backoff::Type::kExponential, 1000};
    std::string id = add_named("exp", o);
    for (std::int64_t expected : {1000, 2000, 4000}) {
        auto j = take_one();
        std::int64_t t0 = qt::redis_now_ms(*r);
        EXPECT_EQ(finish_one(j, Finish::Outcome::kFail, "x"), "delayed");
        std::int64_t t1 = qt::redis_now_ms(*r);
        std::int64_t due = zscore(k->delayed, id);
        EXPECT_GE(due, t0 + expected);
        EXPECT_LE(due, t1 + expected);
        make_due(id);
    }
    EXPECT_EQ(finish_one(take_one(), Finish::Outcome::kFail, "x"), "failed");
}

// Issue 7: 2^(attempt-1) grows without bound (a job could sit in delayed for
// ever); the delay is capped, by default at one hour (QUEUE_MAX_BACKOFF_MS).
TEST_F(QueueScripts, ExponentialBackoffIsCappedAtOneHourByDefault) {
    JobOptions o;
    o.attempts = kMaxAttempts;
    o.backoff = {Backoff::Type::kExponential, 1000};
    std::string id = add_named("capped", o);
    r->command({"HSET", k->job(id), "atm", "900"});  // as if it had failed 900 times
    auto j = take_one();
    std::int64_t t0 = qt::redis_now_ms(*r);
    EXPECT_EQ(finish_one(j, Finish::Outcome::kFail, "x"), "delayed");
    std::int64_t t1 = qt::redis_now_ms(*r);
    std::int64_t due = zscore(k->delayed, id);
    EXPECT_GE(due, t0 + 3600000);
    EXPECT_LE(due, t1 + 3600000);
    EXPECT_EQ(field(id, "due"), std::to_string(due));
}

TEST_F(QueueScripts, ExponentialBackoffFollowsTheConfiguredCap) {
    JobOptions o;
    o.attempts = 10;
    o.backoff = {Backoff::Type::kExponential, 1000};
    std::string id = add_named("capped", o);
    r->command({"HSET", k->job(id), "atm", "5"});  // next delay would be 32 s
    auto j = take_one();
    std::int64_t t0 = qt::redis_now_ms(*r);
    auto f = finish(*r, *k, {{j.id, j.token, Finish::Outcome::kFail, "x"}}, 5000);
    ASSERT_EQ(f.states.at(0), "delayed");
    std::int64_t t1 = qt::redis_now_ms(*r);
    EXPECT_GE(zscore(k->delayed, id), t0 + 5000);
    EXPECT_LE(zscore(k->delayed, id), t1 + 5000);
}

TEST_F(QueueScripts, TimeoutAndAttemptsAreBoundedAtValidation) {
    JobOptions o;
    o.timeout_ms = 25LL * 3600 * 1000;  // more than a day
    EXPECT_THROW(add_named("x", o), Error);
    o = {};
    o.attempts = kMaxAttempts + 1;
    EXPECT_THROW(add_named("x", o), Error);
    o = {};
    o.timeout_ms = 24LL * 3600 * 1000;
    EXPECT_NO_THROW(add_named("x", o));
    EXPECT_EQ(counts(*r, name).waiting, 1);
}

TEST_F(QueueScripts, ZeroBackoffRetriesStraightFromWaiting) {
    JobOptions o;
    o.backoff = {Backoff::Type::kFixed, 0};
    std::string id = add_named("now", o);
    EXPECT_EQ(finish_one(take_one(), Finish::Outcome::kFail, "x"), "waiting");
    auto j = take_one();
    EXPECT_EQ(j.id, id);
    EXPECT_EQ(j.attempt, 2);
}

TEST_F(QueueScripts, PermanentFailureSkipsRemainingAttempts) {
    JobOptions o;
    o.attempts = 5;
    std::string id = add_named("bad", o);
    EXPECT_EQ(finish_one(take_one(), Finish::Outcome::kFailForGood, "invalid data"), "failed");
    EXPECT_EQ(field(id, "atm"), "1");
    EXPECT_EQ(field(id, "err"), "invalid data");
    EXPECT_EQ(r->command({"LLEN", k->dlq}).integer(), 1);
}

/* ---- leases, stalls ---- */

TEST_F(QueueScripts, OutcomeWithAStaleTokenIsRefused) {
    std::string id = add_named("once");
    auto first = take_one();
    expire_lease(id);
    maintain(*r, *k, 5);
    EXPECT_EQ(state(id), "waiting");
    EXPECT_EQ(field(id, "stc"), "1");
    EXPECT_EQ(finish_one(first, Finish::Outcome::kComplete), "stale");
    EXPECT_EQ(state(id), "waiting");

    auto second = take_one();
    EXPECT_NE(second.token, first.token);
    EXPECT_EQ(second.attempt, 1) << "a stall is not a used attempt";
    EXPECT_EQ(finish_one(second, Finish::Outcome::kComplete), "completed");
    EXPECT_EQ(finish_one(first, Finish::Outcome::kFail, "late"), "stale");
    EXPECT_EQ(finish_one(second, Finish::Outcome::kComplete), "stale");
    EXPECT_EQ(state(id), "completed");
    EXPECT_EQ(counts(*r, name).completed_total, 1);
}

TEST_F(QueueScripts, JobThatStallsTooOftenFailsForGood) {
    std::string id = add_named("crashy");
    for (int stall = 1; stall <= 2; ++stall) {
        take_one();
        expire_lease(id);
        maintain(*r, *k, 2);
        EXPECT_EQ(state(id), "waiting");
    }
    take_one();
    expire_lease(id);
    auto events = maintain(*r, *k, 2);
    EXPECT_EQ(state(id), "failed");
    EXPECT_NE(field(id, "err").find("stalled more than 2 times"), std::string::npos);
    bool failed_event = false;
    for (auto& e : events) failed_event = failed_event || (e.id == id && e.state == "failed");
    EXPECT_TRUE(failed_event);
}

TEST_F(QueueScripts, ExtendRenewsTheLeaseUntilTheJobIsTakenBack) {
    std::string id = add_named("long");
    auto j = take_one();
    r->command(RedisArgs{"ZADD", k->active}.add(qt::redis_now_ms(*r) + 1000).add(id));
    std::int64_t t0 = qt::redis_now_ms(*r);
    EXPECT_TRUE(extend(*r, *k, 60000, {{id, j.token}}).empty());
    EXPECT_GE(zscore(k->active, id), t0 + 60000);
    expire_lease(id);
    maintain(*r, *k, 5);
    EXPECT_EQ(extend(*r, *k, 60000, {{id, j.token}}), (std::vector<Lease>{{id, j.token}}));
}

TEST_F(QueueScripts, ReleaseGivesARunningJobBackWithoutUsingAnAttempt) {
    std::string id = add_named("shutdown");
    auto j = take_one();
    auto events = release(*r, *k, {{id, j.token}});
    EXPECT_EQ(state(id), "waiting");
    EXPECT_EQ(field(id, "stc"), "0");
    EXPECT_EQ(events.size(), 1u);
    EXPECT_EQ(take_one().attempt, 1);
    EXPECT_TRUE(release(*r, *k, {{id, j.token}}).empty()) << "the old token no longer releases";
}

TEST_F(QueueScripts, DueDelayedJobsArePromotedByMaintenanceToo) {
    JobOptions o;
    o.delay_ms = 3600000;
    std::string id = add_named("d", o);
    make_due(id);
    maintain(*r, *k, 2);
    EXPECT_EQ(state(id), "waiting");
}

/* ---- pause, rate limit, counts ---- */

TEST_F(QueueScripts, PausedQueueHandsOutNothingUntilResumed) {
    add_named("p");
    EXPECT_TRUE(set_paused(*r, name, true));
    EXPECT_FALSE(set_paused(*r, name, true));
    auto t = take_n(1);
    EXPECT_TRUE(t.jobs.empty());
    EXPECT_EQ(t.status, TakeResult::Status::kPaused);
    EXPECT_TRUE(counts(*r, name).paused);
    r->command({"DEL", k->marker});
    EXPECT_TRUE(set_paused(*r, name, false));
    EXPECT_EQ(r->command({"ZCARD", k->marker}).integer(), 1) << "resume wakes blocked workers";
    EXPECT_EQ(take_n(1).jobs.size(), 1u);
}

TEST_F(QueueScripts, RateLimitCapsJobsStartedPerWindow) {
    for (int i = 0; i < 5; ++i) add_named("r");
    auto t = take(*r, *k, 5, kLease, "tw", 2, 60000);
    EXPECT_EQ(t.jobs.size(), 2u);
    auto next = take(*r, *k, 5, kLease, "tw", 2, 60000);
    EXPECT_TRUE(next.jobs.empty());
    EXPECT_EQ(next.status, TakeResult::Status::kLimited);
    EXPECT_GT(next.wait_ms, 0);
    EXPECT_LE(next.wait_ms, 60000);
    r->command({"DEL", k->limiter});  // the window ends
    EXPECT_EQ(take(*r, *k, 5, kLease, "tw", 2, 60000).jobs.size(), 2u);
}

TEST_F(QueueScripts, CountsReportEveryStateAndTheLastMinute) {
    JobOptions once;
    once.attempts = 1;
    for (int i = 0; i < 3; ++i) add_named("ok");
    add_named("bad", once);
    JobOptions later;
    later.delay_ms = 100000;
    add_named("later", later);
    auto t = take_n(4);
    ASSERT_EQ(t.jobs.size(), 4u);
    std::vector<Finish> f;
    for (auto& j : t.jobs) {
        f.push_back({j.id, j.token,
                     j.name == "bad" ? Finish::Outcome::kFail : Finish::Outcome::kComplete, ""});
    }
    finish(*r, *k, f);
    add_named("waiting");
    auto c = counts(*r, name);
    EXPECT_EQ(c.waiting, 1);
    EXPECT_EQ(c.delayed, 1);
    EXPECT_EQ(c.completed, 3);
    EXPECT_EQ(c.failed, 1);
    EXPECT_EQ(c.active, 0);
    EXPECT_EQ(c.completed_last_minute, 3);
    EXPECT_EQ(c.failed_last_minute, 1);
    auto j = counts_json(name, c);
    EXPECT_EQ(j["total"], 6);
    EXPECT_EQ(j["processedLastMinute"], 3);
    EXPECT_EQ(j["paused"], false);
}

/* ---- keep policies, clean, retry ---- */

TEST_F(QueueScripts, RemoveOnCompleteKeepsTheNewestCount) {
    JobOptions o;
    o.remove_on_complete.count = 2;
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(add_named("k", o));
        finish_one(take_one(), Finish::Outcome::kComplete);
    }
    EXPECT_EQ(counts(*r, name).completed, 2);
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(qt::job_hash(*r, name, ids[i]).empty()) << i;
    EXPECT_EQ(state(ids[4]), "completed");
}

TEST_F(QueueScripts, RemoveOnCompleteDropsJobsOlderThanTheAge) {
    JobOptions o;
    o.remove_on_complete.age_s = 3600;
    std::string old_id = add_named("old", o);
    finish_one(take_one(), Finish::Outcome::kComplete);
    r->command(RedisArgs{"ZADD", k->completed}.add(qt::redis_now_ms(*r) - 7200000).add(old_id));
    std::string new_id = add_named("new", o);
    finish_one(take_one(), Finish::Outcome::kComplete);
    EXPECT_TRUE(qt::job_hash(*r, name, old_id).empty());
    EXPECT_EQ(state(new_id), "completed");
}

TEST_F(QueueScripts, RemoveOnFailZeroDeletesTheJobButKeepsTheDeadLetter) {
    JobOptions o;
    o.attempts = 1;
    o.remove_on_fail.count = 0;
    std::string id = add_named("gone", o);
    finish_one(take_one(), Finish::Outcome::kFail, "why");
    EXPECT_TRUE(qt::job_hash(*r, name, id).empty());
    EXPECT_EQ(counts(*r, name).failed, 0);
    EXPECT_EQ(r->command({"LLEN", k->dlq}).integer(), 1);
}

TEST_F(QueueScripts, CleanDeletesOnlyJobsOfTheStateOlderThanTheCutoff) {
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
        ids.push_back(add_named("c"));
        finish_one(take_one(), Finish::Outcome::kComplete);
    }
    std::int64_t now = qt::redis_now_ms(*r);
    for (int i = 0; i < 2; ++i)
        r->command(RedisArgs{"ZADD", k->completed}.add(now - 120000).add(ids[i]));
    EXPECT_EQ(clean(*r, name, "completed", 60), 2);
    EXPECT_EQ(counts(*r, name).completed, 1);
    EXPECT_EQ(state(ids[2]), "completed");
    EXPECT_THROW(clean(*r, name, "active", 0), Error);
    EXPECT_THROW(clean(*r, name, "completed", -1), Error);
}

TEST_F(QueueScripts, DrainRemovesWaitingAndDelayedJobs) {
    for (int i = 0; i < 3; ++i) add_named("w");
    JobOptions o;
    o.delay_ms = 50000;
    add_named("d", o);
    EXPECT_EQ(drain(*r, name), 4);
    auto c = counts(*r, name);
    EXPECT_EQ(c.waiting + c.delayed, 0);
}

TEST_F(QueueScripts, RetryPutsAFailedJobBackWithFreshAttempts) {
    JobOptions o;
    o.attempts = 1;
    std::string id = add_named("r", o);
    finish_one(take_one(), Finish::Outcome::kFail, "first");
    retry_job(*r, name, id);
    EXPECT_EQ(state(id), "waiting");
    EXPECT_EQ(field(id, "atm"), "0");
    try {
        retry_job(*r, name, id);
        FAIL() << "retrying a waiting job must fail";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidTransition);
    }
    try {
        retry_job(*r, name, "missing");
        FAIL() << "retrying an unknown job must fail";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    }
    auto j = take_one();
    EXPECT_EQ(j.attempt, 1);
    finish_one(j, Finish::Outcome::kFail, "again");
    add_named("r2", o);
    finish_one(take_one(), Finish::Outcome::kFail, "x");
    EXPECT_EQ(retry_failed(*r, name), 2);
    EXPECT_EQ(counts(*r, name).waiting, 2);
}

/* ---- dependencies ---- */

TEST_F(QueueScripts, JobWaitsForItsDependenciesToComplete) {
    std::string a = add_named("a"), b = add_named("b");
    JobOptions o;
    o.depends_on = {a, b};
    std::string c = add_named("c", o);
    EXPECT_EQ(state(c), "waiting-children");
    EXPECT_EQ(counts(*r, name).waiting_children, 1);
    auto t = take_n(10);
    ASSERT_EQ(t.jobs.size(), 2u);
    finish(*r, *k, {{t.jobs[0].id, t.jobs[0].token, Finish::Outcome::kComplete, ""}});
    EXPECT_EQ(state(c), "waiting-children");
    finish(*r, *k, {{t.jobs[1].id, t.jobs[1].token, Finish::Outcome::kComplete, ""}});
    EXPECT_EQ(state(c), "waiting");
    EXPECT_EQ(take_one().id, c);
}

TEST_F(QueueScripts, DependencyThatFailsForGoodFailsItsDependentsWithTheReason) {
    JobOptions once;
    once.attempts = 1;
    std::string a = add_named("a", once);
    JobOptions on_a;
    on_a.depends_on = {a};
    std::string c = add_named("c", on_a);
    JobOptions on_c;
    on_c.depends_on = {c};
    std::string d = add_named("d", on_c);
    finish_one(take_one(), Finish::Outcome::kFail, "disk full");
    EXPECT_EQ(state(c), "failed");
    EXPECT_EQ(field(c, "err"), "dependency " + a + " failed: disk full");
    EXPECT_EQ(state(d), "failed");
    EXPECT_NE(field(d, "err").find("dependency " + c + " failed"), std::string::npos);
    JobOptions late;
    late.depends_on = {a};
    std::string e = add_named("e", late);
    EXPECT_EQ(state(e), "failed") << "a job added after its dependency failed fails at once";
    EXPECT_TRUE(take_n(5).jobs.empty());
}

TEST_F(QueueScripts, DependencyAlreadyCompletedDoesNotBlock) {
    std::string a = add_named("a");
    finish_one(take_one(), Finish::Outcome::kComplete);
    JobOptions o;
    o.depends_on = {a};
    EXPECT_EQ(state(add_named("b", o)), "waiting");
}

TEST_F(QueueScripts, UnknownDependencyRejectsTheWholeAdd) {
    JobOptions o;
    o.depends_on = {"nope"};
    std::vector<NewJob> jobs{{"x", {}, {}}, {"y", {}, o}};
    try {
        add_bulk(*r, name, jobs);
        FAIL() << "unknown dependency accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
    }
    EXPECT_EQ(counts(*r, name).waiting, 0);
}

/* ---- cron ticks ---- */

TEST_F(QueueScripts, EachRepeatTickIsEnqueuedOnceEvenWhenManyRace) {
    const std::int64_t tick = 4102444800000;  // 2100-01-01T00:00Z
    std::atomic<int> won{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            auto own = qt::redis();
            NewJob job{"tick", {}, {}};
            job.options.job_id = "repeat:nightly:" + std::to_string(tick);
            job.options.delay_ms = 1000;
            if (add_repeat_tick(*own, name, "nightly", tick, job)) ++won;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(won.load(), 1);
    NewJob older{"tick", {}, {}};
    older.options.job_id = "repeat:nightly:older";
    EXPECT_FALSE(add_repeat_tick(*r, name, "nightly", tick - 60000, older));
    EXPECT_EQ(counts(*r, name).delayed, 1);
}

/* ---- listing, events ---- */

TEST_F(QueueScripts, ListingPagesThroughFinishedJobsNewestFirst) {
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(add_named("l"));
        finish_one(take_one(), Finish::Outcome::kComplete);
    }
    std::vector<std::string> seen;
    std::optional<std::string> cursor;
    int pages = 0;
    do {
        auto p = list_jobs(*r, name, "completed", 2,
                           cursor ? std::optional<std::string_view>(*cursor) : std::nullopt);
        for (auto& j : p.items) seen.push_back(j["id"]);
        cursor = p.next_cursor;
        ++pages;
    } while (cursor && pages < 10);
    EXPECT_EQ(pages, 3);
    std::vector<std::string> expected(ids.rbegin(), ids.rend());
    // Jobs finished within the same millisecond share a score; the set of
    // ids and the page shape are what must hold.
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()),
              std::set<std::string>(ids.begin(), ids.end()));
    EXPECT_EQ(seen.size(), 5u);
    EXPECT_THROW(list_jobs(*r, name, "completed", 2, std::string_view("zz.zz")), Error);
    EXPECT_THROW(list_jobs(*r, name, "sleeping", 2, std::nullopt), Error);
    EXPECT_THROW(list_jobs(*r, name, "completed", 0, std::nullopt), Error);
}

TEST_F(QueueScripts, JobDetailsCarryAttemptsErrorAndTimestamps) {
    JobOptions o;
    o.attempts = 2;
    o.backoff = {Backoff::Type::kFixed, 0};
    std::string id = add_named("detail", o);
    finish_one(take_one(), Finish::Outcome::kFail, "first try");
    finish(*r, *k, {{id, take_one().token, Finish::Outcome::kComplete, R"({"ok":true})"}});
    auto j = get_job(*r, name, id);
    ASSERT_TRUE(j);
    EXPECT_EQ((*j)["state"], "completed");
    EXPECT_EQ((*j)["attemptsMade"], 2);
    EXPECT_EQ((*j)["attempts"], 2);
    EXPECT_EQ((*j)["lastError"], "first try");
    EXPECT_EQ((*j)["returnValue"], (nlohmann::json{{"ok", true}}));
    EXPECT_TRUE((*j)["createdAt"].is_string());
    EXPECT_TRUE((*j)["processedAt"].is_string());
    EXPECT_TRUE((*j)["finishedAt"].is_string());
    EXPECT_FALSE(get_job(*r, name, "absent"));
}

TEST_F(QueueScripts, EveryStateChangeIsAppendedToJobEvents) {
    JobOptions o;
    o.attempts = 2;
    o.backoff = {Backoff::Type::kFixed, 0};
    std::string id = add_named("ev", o);
    auto t1 = take_n(1);
    append_events(*r, t1.events);
    auto f1 = finish(*r, *k, {{id, t1.jobs.at(0).token, Finish::Outcome::kFail, "oops"}});
    append_events(*r, f1.events);
    auto t = take_n(1);
    append_events(*r, t.events);
    auto f2 = finish(*r, *k, {{id, t.jobs.at(0).token, Finish::Outcome::kComplete, ""}});
    append_events(*r, f2.events);
    // The take/finish wrappers leave appending to the caller (the worker
    // batches); the states they report must be the full story.
    std::vector<std::string> states;
    for (auto& e : t1.events) states.push_back(e.state);
    for (auto& e : f1.events) states.push_back(e.state);
    for (auto& e : t.events) states.push_back(e.state);
    for (auto& e : f2.events) states.push_back(e.state);
    EXPECT_EQ(states, (std::vector<std::string>{"active", "waiting", "active", "completed"}));
    auto events = read_events(*r, 1000);
    nlohmann::json last;
    for (auto& e : events)
        if (e["queue"] == name && e["jobId"] == id && e["state"] == "completed") last = e;
    ASSERT_FALSE(last.is_null());
    EXPECT_EQ(last["queue"], name);
    EXPECT_EQ(last["name"], "ev");
    EXPECT_EQ(last["attempt"], 2);
    EXPECT_TRUE(last.contains("durationMs"));
}

/* ---- outbox ---- */

TEST_F(QueueScripts, OutboxJobReachesTheQueueOnlyIfTheTransactionCommits) {
    qt::pg().transact([&](pqxx::work& w) {
        add_in_transaction(w, name, {"committed", {{"v", 1}}, {}});
    });
    try {
        qt::pg().transact([&](pqxx::work& w) {
            add_in_transaction(w, name, {"rolled-back", {}, {}});
            throw std::runtime_error("abort");
        });
    } catch (const std::runtime_error&) {
    }
    while (relay_outbox(qt::pg(), *r, 500) > 0) {
    }
    // The stack's worker relays the outbox too: when it locked the row first,
    // this relay skipped it and the job arrives when that relay is done.
    TakeResult t;
    ASSERT_TRUE(
        qt::eventually([&] { return !(t = take_n(10)).jobs.empty(); }, std::chrono::seconds(30)));
    ASSERT_EQ(t.jobs.size(), 1u);
    EXPECT_EQ(t.jobs[0].name, "committed");
    EXPECT_EQ(t.jobs[0].id.rfind("ob-", 0), 0u);
    finish(*r, *k, {{t.jobs[0].id, t.jobs[0].token, Finish::Outcome::kComplete, ""}});

    // A relay that died before stamping delivers again: the jobId dedupes it.
    qt::sql("UPDATE outbox SET published_at = NULL WHERE topic = 'job:" + name + "'");
    while (relay_outbox(qt::pg(), *r, 500) > 0) {
    }
    // (As above: the stack's relay may hold the row; it stamps it when done.)
    EXPECT_TRUE(qt::eventually(
        [&] {
            return qt::sql_int("SELECT count(*) FROM outbox WHERE topic = 'job:" + name +
                               "' AND published_at IS NULL") == 0;
        },
        std::chrono::seconds(30)));
    auto c = counts(*r, name);
    EXPECT_EQ(c.waiting, 0);
    EXPECT_EQ(c.completed, 1);
}

}  // namespace

// Issue 7: a row the relay can never publish (here: its dependency is gone)
// must not be retried for ever nor hold back the rows after it. It is tried
// OUTBOX_MAX_ATTEMPTS times (default 5), then set aside with its error.
TEST_F(QueueScripts, OutboxRowThatCanNeverBePublishedIsSetAsideAndTheRestFlows) {
    JobOptions orphan;
    orphan.depends_on = {"gone-" + name};
    qt::pg().transact([&](pqxx::work& w) {
        add_in_transaction(w, name, {"orphan", {}, orphan});
        add_in_transaction(w, name, {"fine", {}, {}});
    });
    const std::string rows = "FROM outbox WHERE topic = 'job:" + name + "'";
    // The stack's own worker relays the same table (and may hold the row for
    // a moment), so relay until the row is set aside, with a bound.
    for (int i = 0;
         i < 200 && qt::sql_int("SELECT count(*) " + rows + " AND failed_at IS NOT NULL") == 0;
         ++i) {
        relay_outbox(qt::pg(), *r, 500);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    auto t = take_n(10);
    ASSERT_EQ(t.jobs.size(), 1u);
    EXPECT_EQ(t.jobs[0].name, "fine");
    EXPECT_EQ(qt::sql_int("SELECT count(*) " + rows + " AND published_at IS NOT NULL"), 1);
    EXPECT_EQ(qt::sql_int("SELECT count(*) " + rows + " AND failed_at IS NOT NULL"), 1);
    EXPECT_EQ(qt::sql_int("SELECT max(attempts) " + rows + " AND failed_at IS NOT NULL"), 5);
    EXPECT_EQ(qt::sql_int("SELECT count(*) " + rows +
                          " AND failed_at IS NOT NULL AND last_error LIKE '%gone-%'"),
              1);
    // Set aside means not selected again: the relay has nothing left to do here.
    EXPECT_EQ(
        qt::sql_int("SELECT count(*) " + rows + " AND published_at IS NULL AND failed_at IS NULL"),
        0);
}

// Issue 7: a keep policy over a huge set removes a bounded number of jobs per
// script call (1000) and converges over the next completions.
TEST_F(QueueScripts, KeepPolicyRemovesABoundedNumberPerCall) {
    std::int64_t now = qt::redis_now_ms(*r);
    RedisArgs fill{"ZADD", k->completed};
    for (int i = 0; i < 2500; ++i) fill.add(now - 100000 + i).add("filler-" + std::to_string(i));
    r->command(fill);
    JobOptions o;
    o.remove_on_complete.count = 10;
    add_named("k", o);
    finish_one(take_one(), Finish::Outcome::kComplete);
    EXPECT_EQ(counts(*r, name).completed, 2501 - 1000);
    for (int i = 0; i < 2; ++i) {
        add_named("k", o);
        finish_one(take_one(), Finish::Outcome::kComplete);
    }
    EXPECT_EQ(counts(*r, name).completed, 10);
}

// Issue 7: age-based clean of waiting jobs pages through the set; each script
// call looks at most at 1000 members and says where the next page starts.
TEST_F(QueueScripts, AgeCleanOfWaitingJobsPagesWithBoundedWork) {
    std::vector<NewJob> jobs;
    for (int i = 0; i < 2300; ++i) jobs.push_back({"w", {{"i", i}}, {}});
    auto ids = add_bulk(*r, name, jobs);
    // Every third job is old.
    std::int64_t now = qt::redis_now_ms(*r);
    for (std::size_t i = 0; i < ids.size(); i += 3)
        r->command(RedisArgs{"HSET", k->job(ids[i]), "ts"}.add(now - 120000));
    Reply first = r->eval_script("queue_clean", {k->wait},
                                 {k->prefix, "waiting", std::to_string(now - 60000), "1000", "0"});
    ASSERT_EQ(first.size(), 3u) << "queue_clean returns no next position";
    EXPECT_EQ(first.at(0).integer(), 334);  // of the first 1000 looked at
    EXPECT_EQ(first.at(2).integer(), 1000 - 334);
    EXPECT_EQ(clean(*r, name, "waiting", 60), 767 - 334);
    EXPECT_EQ(counts(*r, name).waiting, 2300 - 767);
}

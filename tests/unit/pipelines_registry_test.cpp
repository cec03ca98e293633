// The pipeline table (shared/src/pipelines/registry.cpp) is consistent: what
// the worker schedules and a branch run plans from it can rely on.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "bazaar/error.hpp"
#include "bazaar/pipelines/pipeline_service.hpp"
#include "bazaar/pipelines/registry.hpp"
#include "bazaar/queue/cron.hpp"

using namespace bazaar;
using namespace bazaar::pipelines;

TEST(PipelineRegistry, IdsAreUniqueAndNamedAfterTheirBranch) {
    std::set<std::string> seen;
    const std::set<std::string> test_branches = {"test", "testfail"};
    for (const auto& j : all_jobs()) {
        EXPECT_TRUE(seen.insert(j.id).second) << j.id;
        EXPECT_EQ(j.id.rfind(j.branch + ".", 0), 0u) << j.id;
        bool listed = std::count(branches().begin(), branches().end(), j.branch) == 1;
        EXPECT_TRUE(listed != j.test_only) << j.id;
        if (j.test_only) {
            EXPECT_TRUE(test_branches.count(j.branch)) << j.id;
        }
        EXPECT_FALSE(j.name.empty()) << j.id;
        EXPECT_GE(j.priority, 0);
        EXPECT_LE(j.priority, kMaxPriority);
        EXPECT_GE(j.attempts, 1);
    }
    for (const auto& b : branches()) EXPECT_FALSE(branch_jobs(b, false).empty()) << b;
}

TEST(PipelineRegistry, DependenciesAreEarlierJobsOfTheSameBranch) {
    std::set<std::string> earlier;
    for (const auto& j : all_jobs()) {
        for (const auto& d : j.depends_on) {
            EXPECT_TRUE(earlier.count(d)) << j.id << " depends on " << d << " declared later";
            const auto* dep = find_job(d, true);
            ASSERT_NE(dep, nullptr) << d;
            EXPECT_EQ(dep->branch, j.branch) << j.id;
        }
        earlier.insert(j.id);
    }
}

TEST(PipelineRegistry, EveryScheduleParsesInItsZone) {
    for (const auto& j : all_jobs()) {
        if (j.cron.empty()) {
            EXPECT_TRUE(j.test_only) << j.id << ": every real job has a schedule";
            continue;
        }
        EXPECT_NO_THROW(queue::CronExpression::parse(j.cron, j.timezone)) << j.id;
    }
}

TEST(PipelineRegistry, TestJobsOnlyWhenAsked) {
    EXPECT_EQ(find_job("test.a", false), nullptr);
    EXPECT_NE(find_job("test.a", true), nullptr);
    EXPECT_TRUE(branch_jobs("test", false).empty());
    EXPECT_EQ(branch_jobs("test", true).size(), 5u);
    EXPECT_EQ(find_job("nope", true), nullptr);
    EXPECT_NE(find_job("cleanup.carts", false), nullptr);
    Config c;
    c.app_env = "production";
    EXPECT_FALSE(test_jobs_enabled(c));
    c.app_env = "test";
    EXPECT_TRUE(test_jobs_enabled(c));
}

TEST(PipelineRegistry, HigherPipelinePriorityIsALowerQueueNumber) {
    EXPECT_EQ(queue_priority(100), 0);
    EXPECT_EQ(queue_priority(0), 100);
    EXPECT_LT(queue_priority(90), queue_priority(10));
    EXPECT_EQ(queue_priority(500), 0);  // clamped
    EXPECT_EQ(queue_priority(-3), 100);
}

TEST(PipelineRegistry, QueueJobIdsNameTheRunAndTheJob) {
    EXPECT_EQ(queue_job_id("0123456789abcdef", "cleanup.carts"),
              "run:0123456789abcdef:cleanup.carts");
}

TEST(PipelineSettings, EnabledIsABooleanAndTheOnlyField) {
    EXPECT_TRUE(parse_enabled(nlohmann::json{{"enabled", true}}));
    EXPECT_FALSE(parse_enabled(nlohmann::json{{"enabled", false}}));
    for (const auto& bad : {nlohmann::json::object(), nlohmann::json{{"enabled", "true"}},
                            nlohmann::json{{"enabled", 1}}, nlohmann::json{{"enabled", nullptr}},
                            nlohmann::json{{"enabled", true}, {"cron", "* * * * *"}},
                            nlohmann::json::array({true}), nlohmann::json("enabled")}) {
        try {
            parse_enabled(bad);
            ADD_FAILURE() << bad.dump();
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kValidationFailed) << bad.dump();
        }
    }
}

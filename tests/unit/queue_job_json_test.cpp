// Job options as API.md §7 spells them: validation and the JSON form that
// travels through the outbox. No services needed.
#include <gtest/gtest.h>

#include "bazaar/error.hpp"
#include "bazaar/queue/job_json.hpp"
#include "bazaar/queue/keys.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::queue;

std::string failing_field(const NewJob& job) {
    try {
        validate_job(job);
    } catch (const Error& e) {
        return e.details().empty() ? "?" : e.details()[0].field;
    }
    return "";
}

TEST(QueueJobJson, OptionsRoundTripThroughJson) {
    NewJob job{"welcome", {{"userId", "u1"}}, {}};
    job.options.attempts = 5;
    job.options.backoff = {Backoff::Type::kFixed, 250};
    job.options.priority = 7;
    job.options.delay_ms = 1000;
    job.options.job_id = "welcome-u1";
    job.options.remove_on_complete.count = 100;
    job.options.remove_on_fail.age_s = 86400;
    job.options.timeout_ms = 5000;
    job.options.depends_on = {"a", "b"};
    NewJob back = job_from_json(job_to_json(job));
    EXPECT_EQ(back.name, "welcome");
    EXPECT_EQ(back.data, job.data);
    EXPECT_EQ(back.options.attempts, 5);
    EXPECT_EQ(back.options.backoff.type, Backoff::Type::kFixed);
    EXPECT_EQ(back.options.backoff.delay_ms, 250);
    EXPECT_EQ(back.options.priority, 7);
    EXPECT_EQ(back.options.delay_ms, 1000);
    EXPECT_EQ(back.options.job_id, "welcome-u1");
    EXPECT_EQ(back.options.remove_on_complete.count, 100);
    EXPECT_FALSE(back.options.remove_on_complete.age_s);
    EXPECT_EQ(back.options.remove_on_fail.age_s, 86400);
    EXPECT_EQ(back.options.timeout_ms, 5000);
    EXPECT_EQ(back.options.depends_on, (std::vector<std::string>{"a", "b"}));
}

TEST(QueueJobJson, BullmqBooleanKeepShorthand) {
    auto o = options_from_json({{"removeOnComplete", true}, {"removeOnFail", false}});
    EXPECT_EQ(o.remove_on_complete.count, 0);
    EXPECT_FALSE(o.remove_on_fail.count);
}

TEST(QueueJobJson, UnknownOrMistypedOptionsAreRejected) {
    EXPECT_THROW(options_from_json({{"attempt", 3}}), Error);
    EXPECT_THROW(options_from_json({{"attempts", "3"}}), Error);
    EXPECT_THROW(options_from_json({{"backoff", {{"type", "linear"}}}}), Error);
    EXPECT_THROW(options_from_json({{"dependsOn", {1, 2}}}), Error);
    EXPECT_THROW(job_from_json({{"name", "x"}, {"extra", 1}}), Error);
}

TEST(QueueJobJson, ValidationNamesTheField) {
    NewJob ok{"x", {}, {}};
    EXPECT_EQ(failing_field(ok), "");
    auto with = [&](auto change) {
        NewJob j = ok;
        change(j.options);
        return failing_field(j);
    };
    EXPECT_EQ(failing_field({"", {}, {}}), "name");
    EXPECT_EQ(with([](JobOptions& o) { o.attempts = 0; }), "attempts");
    EXPECT_EQ(with([](JobOptions& o) { o.priority = kMaxPriority + 1; }), "priority");
    EXPECT_EQ(with([](JobOptions& o) { o.priority = -1; }), "priority");
    EXPECT_EQ(with([](JobOptions& o) { o.delay_ms = -5; }), "delayMs");
    EXPECT_EQ(with([](JobOptions& o) { o.backoff.delay_ms = -1; }), "backoff.delayMs");
    EXPECT_EQ(with([](JobOptions& o) { o.job_id = "12345"; }), "jobId");
    EXPECT_EQ(with([](JobOptions& o) { o.job_id = "a,b"; }), "jobId");
    EXPECT_EQ(with([](JobOptions& o) { o.remove_on_fail.count = -1; }), "removeOnFail.count");
    EXPECT_EQ(with([](JobOptions& o) { o.timeout_ms = -1; }), "timeoutMs");
    EXPECT_EQ(with([](JobOptions& o) { o.depends_on = {"x,y"}; }), "dependsOn");
}

TEST(QueueKeysTest, EveryKeyOfAQueueSharesItsHashTag) {
    QueueKeys k("email");
    for (const auto& key :
         {k.seq, k.wait, k.delayed, k.active, k.completed, k.failed, k.waitdeps, k.dlq, k.marker,
          k.meta, k.rate, k.limiter, k.repeat, k.job("42"), k.wake("w1")}) {
        EXPECT_EQ(key.rfind("{q:email}:", 0), 0u) << key;
    }
    EXPECT_TRUE(is_valid_queue_name("image-variants.v2"));
    EXPECT_FALSE(is_valid_queue_name("Email"));
    EXPECT_FALSE(is_valid_queue_name("a}b"));
    EXPECT_FALSE(is_valid_queue_name(""));
    EXPECT_FALSE(is_valid_queue_name(std::string(65, 'a')));
}

}  // namespace

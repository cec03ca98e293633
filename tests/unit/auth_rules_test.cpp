#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "bazaar/auth/hashing_gate.hpp"
#include "bazaar/auth/refresh_tokens.hpp"
#include "bazaar/config.hpp"
#include "bazaar/error.hpp"
#include "bazaar/ratelimit/rate_limiter.hpp"

using namespace bazaar;

TEST(RefreshToken, ShapeCarriesTheUserAndEnoughEntropy) {
    const std::string uid = "0b8e9c3e-8d0e-4a53-9c57-7a5d8a3e0f11";
    auto t = auth::make_refresh_token(uid);
    EXPECT_EQ(t.size(), 36u + 1 + 64);
    EXPECT_EQ(auth::refresh_token_user(t), uid);
    EXPECT_NE(auth::make_refresh_token(uid), t);
    EXPECT_FALSE(auth::refresh_token_user("x"));
    EXPECT_FALSE(auth::refresh_token_user(uid + "." + std::string(63, 'a')));
    EXPECT_FALSE(auth::refresh_token_user(uid + "." + std::string(64, 'G')));
    EXPECT_FALSE(auth::refresh_token_user("not-a-uuid." + std::string(64, 'a')));
}

TEST(RefreshToken, KeysShareTheUsersHashTagAndNeverContainTheToken) {
    const std::string uid = "0b8e9c3e-8d0e-4a53-9c57-7a5d8a3e0f11";
    auto t = auth::make_refresh_token(uid);
    auto key = auth::refresh_token_key(uid, t);
    EXPECT_EQ(key.rfind("{u:" + uid + "}:rt:t:", 0), 0u);
    EXPECT_EQ(key.find(t.substr(37)), std::string::npos);
    EXPECT_EQ(auth::refresh_generation_key(uid), "{u:" + uid + "}:rt:gen");
}

namespace {
// Occupies one slot of `gate` until release() is called.
struct Holder {
    explicit Holder(auth::HashingGate& gate)
        : thread([this, &gate] {
              gate.run([this] {
                  std::unique_lock lock(mu);
                  entered = true;
                  cv.notify_all();
                  cv.wait(lock, [this] { return released; });
              });
          }) {
        std::unique_lock lock(mu);
        cv.wait(lock, [this] { return entered; });
    }
    void release() {
        {
            std::lock_guard lock(mu);
            released = true;
        }
        cv.notify_all();
        thread.join();
    }
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false, released = false;
    std::thread thread;
};
}  // namespace

TEST(HashingGate, RefusesAtOnceBeyondSlotsPlusQueue) {
    auth::HashingGate gate(1, 0, std::chrono::milliseconds(0));
    Holder held(gate);
    EXPECT_EQ(gate.running(), 1);
    bool ran = false;
    try {
        gate.run([&] { ran = true; });
        FAIL() << "a second slot was granted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
        ASSERT_FALSE(e.headers().empty());
        EXPECT_EQ(e.headers()[0].first, "Retry-After");
    }
    EXPECT_FALSE(ran);
    held.release();
    EXPECT_EQ(gate.running(), 0);
    gate.run([&] { ran = true; });  // released slots are reusable
    EXPECT_TRUE(ran);
}

TEST(HashingGate, AWaiterGetsTheSlotWhenItIsReleased) {
    auth::HashingGate gate(1, 1, std::chrono::hours(1));
    Holder held(gate);
    bool waiter_ran = false;
    std::thread waiter([&] { gate.run([&] { waiter_ran = true; }); });
    while (gate.waiting() == 0) std::this_thread::yield();
    // The queue (1) is full now: a third caller is refused, not queued.
    EXPECT_THROW(gate.run([] {}), Error);
    held.release();
    waiter.join();
    EXPECT_TRUE(waiter_ran);
    EXPECT_EQ(gate.running(), 0);
}

TEST(HashingGate, WorkRunsOnALowPriorityThreadAndItsErrorsPropagate) {
    auth::HashingGate gate(1, 0, std::chrono::milliseconds(0));
    int nice = 0;
    std::thread::id worker;
    gate.run([&] {
        nice = getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)));
        worker = std::this_thread::get_id();
    });
    EXPECT_EQ(nice, 19);
    EXPECT_NE(worker, std::this_thread::get_id());
    EXPECT_THROW(gate.run([] { throw std::runtime_error("boom"); }), std::runtime_error);
    EXPECT_EQ(gate.running(), 0);
}

TEST(RateLimit, DecisionRoundsUpAndClamps) {
    ratelimit::Policy p{"auth", 10, 60};
    auto ok = ratelimit::decision_from_reply(p, 1, 9, 6000, 0);
    EXPECT_TRUE(ok.allowed);
    EXPECT_EQ(ok.remaining, 9);
    EXPECT_EQ(ok.reset_s, 6);
    auto no = ratelimit::decision_from_reply(p, 0, 0, 59001, 1);
    EXPECT_FALSE(no.allowed);
    EXPECT_EQ(no.retry_after_s, 1) << "never Retry-After: 0";
    EXPECT_EQ(no.reset_s, 60);
    auto h = ratelimit::headers(no);
    ASSERT_EQ(h.size(), 4u);
    EXPECT_EQ(h[0], (std::pair<std::string, std::string>{"RateLimit-Limit", "10"}));
    EXPECT_EQ(h[3], (std::pair<std::string, std::string>{"Retry-After", "1"}));
    EXPECT_EQ(ratelimit::headers(ok).size(), 3u);
    EXPECT_EQ(ratelimit::key(p, "ip:1.2.3.4"), "rl:{auth:ip:1.2.3.4}");
}

TEST(RateLimit, ExemptAddressesComeFromConfig) {
    auto c = Config::from_map({{"RATE_LIMIT_EXEMPT_IPS", " 127.0.0.1, ::1 "}});
    EXPECT_TRUE(ratelimit::is_exempt(c, "127.0.0.1"));
    EXPECT_TRUE(ratelimit::is_exempt(c, "::1"));
    EXPECT_FALSE(ratelimit::is_exempt(c, "127.0.0.2"));
    EXPECT_FALSE(ratelimit::is_exempt(Config::from_map({}), "127.0.0.1"));
}

TEST(AuthConfig, JwtSecretMustBeLongAndNotTheDevDefaultInProduction) {
    try {
        Config::from_map({{"JWT_SECRET", "short"}});
        FAIL() << "a short secret was accepted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("JWT_SECRET:", 0), 0u) << e.what();
    }
    EXPECT_THROW(Config::from_map({{"APP_ENV", "production"}}), ConfigError);
    auto c = Config::from_map({{"APP_ENV", "production"}, {"JWT_SECRET", std::string(32, 's')}});
    EXPECT_EQ(c.jwt_secret.size(), 32u);
    EXPECT_EQ(c.rate_limit_auth.limit, 10);
    EXPECT_EQ(c.rate_limit_api.limit, 600);
    EXPECT_EQ(c.cache_ttl_tags_s, 600);
}

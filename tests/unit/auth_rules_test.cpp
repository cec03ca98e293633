#include <gtest/gtest.h>

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
    EXPECT_EQ(key.rfind("{rt:" + uid + "}:t:", 0), 0u);
    EXPECT_EQ(key.find(t.substr(37)), std::string::npos);
    EXPECT_EQ(auth::refresh_generation_key(uid), "{rt:" + uid + "}:gen");
}

TEST(HashingGate, RefusesAtOnceBeyondSlotsPlusQueue) {
    auth::HashingGate gate(1, 0, std::chrono::milliseconds(0));
    {
        auth::HashingGate::Slot held(gate);
        EXPECT_EQ(gate.running(), 1);
        try {
            auth::HashingGate::Slot second(gate);
            FAIL() << "a second slot was granted";
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
            ASSERT_FALSE(e.headers().empty());
            EXPECT_EQ(e.headers()[0].first, "Retry-After");
        }
    }
    EXPECT_EQ(gate.running(), 0);
    auth::HashingGate::Slot again(gate);  // released slots are reusable
}

TEST(HashingGate, AWaiterGetsTheSlotWhenItIsReleased) {
    auth::HashingGate gate(1, 1, std::chrono::hours(1));
    auto held = std::make_unique<auth::HashingGate::Slot>(gate);
    std::thread waiter([&] { auth::HashingGate::Slot s(gate); });
    while (gate.waiting() == 0) std::this_thread::yield();
    // The queue (1) is full now: a third caller is refused, not queued.
    EXPECT_THROW(auth::HashingGate::Slot third(gate), Error);
    held.reset();
    waiter.join();
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

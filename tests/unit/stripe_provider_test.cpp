// The stripe provider against tests/stripe_standin/stripe_standin.py: a local
// HTTPS server with a certificate made here (openssl), trusted through
// STRIPE_CA_FILE only. The stand-in checks the form body and the headers as
// Stripe's API does and logs each request, which the tests read back.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "bazaar/payments/provider.hpp"

namespace fs = std::filesystem;
using namespace bazaar;
using namespace bazaar::payments;

namespace {

class StripeStandIn : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        global_init();
        char tmpl[] = "/tmp/bazaar-stripe-XXXXXX";
        dir_ = mkdtemp(tmpl);
        std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
            "-addext subjectAltName=IP:127.0.0.1 -keyout " +
            dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl req failed";
        int out[2];
        ASSERT_EQ(pipe(out), 0);
        pid_ = fork();
        if (pid_ == 0) {
            dup2(out[1], 1);
            close(out[0]);
            std::string script =
                std::string(BAZAAR_SOURCE_DIR) + "/tests/stripe_standin/stripe_standin.py";
            std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem", log = dir_ + "/log";
            execlp("python3", "python3", script.c_str(), cert.c_str(), key.c_str(), log.c_str(),
                   nullptr);
            _exit(127);
        }
        close(out[1]);
        char buf[16] = {};
        ssize_t n = read(out[0], buf, sizeof buf - 1);
        // Kept open until the stand-in is stopped: it must never write into
        // a closed pipe (SIGPIPE/EPIPE would kill it mid-suite).
        pipe_fd_ = out[0];
        ASSERT_GT(n, 0) << "the stand-in did not start";
        port_ = std::atoi(buf);
        ASSERT_GT(port_, 0);
    }
    static void TearDownTestSuite() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
        if (pipe_fd_ >= 0) close(pipe_fd_);
        if (!dir_.empty()) fs::remove_all(dir_);
    }

    Config config(const std::string& key, bool trust = true, int timeout_ms = 3000) {
        Config c;
        c.payment_provider = "stripe";
        c.stripe_secret_key = key;
        c.stripe_api_base = "https://127.0.0.1:" + std::to_string(port_);
        c.stripe_api_version = "2024-06-20";
        c.stripe_ca_file = trust ? dir_ + "/cert.pem" : "";  // untrusted: the system store
        c.stripe_timeout_ms = timeout_ms;
        return c;
    }

    // The last request the stand-in received.
    nlohmann::json last_request() {
        std::ifstream f(dir_ + "/log");
        std::string line, last;
        while (std::getline(f, line))
            if (!line.empty()) last = line;
        return nlohmann::json::parse(last);
    }

    static inline std::string dir_;
    static inline pid_t pid_ = -1;
    static inline int pipe_fd_ = -1;
    static inline int port_ = 0;
};

TEST_F(StripeStandIn, CreatesAPaymentIntentWithStripesFormAndHeaders) {
    auto p = make_stripe_provider(config("sk_test_abc123"));
    EXPECT_EQ(p->name(), "stripe");
    Intent i = p->create_intent({"0b6f0a43-7d2e-4a4e-9d55-1b1f7c3c2a10", 4599, "USD", "intent:k1"});
    EXPECT_EQ(i.id.rfind("pi_", 0), 0u);
    EXPECT_EQ(i.client_secret.rfind(i.id + "_secret_", 0), 0u);
    auto r = last_request();
    EXPECT_EQ(r["path"], "/v1/payment_intents");
    EXPECT_EQ(r["form"]["amount"], "4599");
    EXPECT_EQ(r["form"]["currency"], "usd");
    EXPECT_EQ(r["form"]["metadata[orderId]"], "0b6f0a43-7d2e-4a4e-9d55-1b1f7c3c2a10");
    EXPECT_EQ(r["form"]["automatic_payment_methods[enabled]"], "true");
    EXPECT_EQ(r["headers"]["authorization"], "Bearer sk_test_abc123");
    EXPECT_EQ(r["headers"]["idempotency-key"], "intent:k1");
    EXPECT_EQ(r["headers"]["stripe-version"], "2024-06-20");
    EXPECT_EQ(r["headers"]["content-type"], "application/x-www-form-urlencoded");
    // brackets are percent-encoded on the wire, as Stripe's libraries send them
    EXPECT_NE(r["raw"].get<std::string>().find("metadata%5BorderId%5D="), std::string::npos);
}

TEST_F(StripeStandIn, SameIdempotencyKeyGivesTheSameIntent) {
    auto p = make_stripe_provider(config("sk_test_abc123"));
    Intent a = p->create_intent({"o-1", 100, "eur", "intent:same"});
    Intent b = p->create_intent({"o-1", 100, "eur", "intent:same"});
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.client_secret, b.client_secret);
}

TEST_F(StripeStandIn, Refunds) {
    auto p = make_stripe_provider(config("sk_test_abc123"));
    RefundResult r = p->refund("pi_123", 4599, "refund:o-1");
    EXPECT_EQ(r.id.rfind("re_", 0), 0u);
    EXPECT_EQ(r.status, "succeeded");
    auto req = last_request();
    EXPECT_EQ(req["path"], "/v1/refunds");
    EXPECT_EQ(req["form"]["payment_intent"], "pi_123");
    EXPECT_EQ(req["form"]["amount"], "4599");
    EXPECT_EQ(req["headers"]["idempotency-key"], "refund:o-1");
}

TEST_F(StripeStandIn, MapsErrors) {
    try {
        make_stripe_provider(config("sk_test_invalid"))->create_intent({"o", 100, "usd", "k-401"});
        FAIL() << "no error";
    } catch (const ProviderError& e) {
        EXPECT_FALSE(e.retryable());
        EXPECT_EQ(e.http_status(), 401);
        EXPECT_EQ(std::string(e.what()).find("sk_test_invalid"), std::string::npos)
            << "the key must not reach logs: " << e.what();
    }
    try {
        make_stripe_provider(config("sk_test_status_402"))
            ->create_intent({"o", 100, "usd", "k-402"});
        FAIL() << "no error";
    } catch (const ProviderError& e) {
        EXPECT_FALSE(e.retryable());
        EXPECT_EQ(e.provider_code(), "card_declined");
    }
    try {
        make_stripe_provider(config("sk_test_status_500"))
            ->create_intent({"o", 100, "usd", "k-500"});
        FAIL() << "no error";
    } catch (const ProviderError& e) {
        EXPECT_TRUE(e.retryable());
        EXPECT_EQ(e.http_status(), 500);
    }
}

TEST_F(StripeStandIn, NeverTrustsAnUnknownCertificate) {
    auto p = make_stripe_provider(config("sk_test_abc123", /*trust=*/false));
    try {
        p->create_intent({"o", 100, "usd", "k-tls"});
        FAIL() << "an untrusted certificate was accepted";
    } catch (const ProviderError& e) {
        EXPECT_TRUE(e.retryable());
        EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
    }
}

TEST_F(StripeStandIn, TimesOut) {
    auto p = make_stripe_provider(config("sk_test_slow", true, 500));
    try {
        p->create_intent({"o", 100, "usd", "k-slow"});
        FAIL() << "no timeout";
    } catch (const ProviderError& e) {
        EXPECT_TRUE(e.retryable());
        EXPECT_NE(std::string(e.what()).find("imeout"), std::string::npos) << e.what();
    }
}

TEST(TestProvider, GivesStripeShapedIds) {
    auto p = make_test_provider();
    Intent i = p->create_intent({"o", 100, "usd", "k"});
    EXPECT_EQ(i.id.rfind("pi_test_", 0), 0u);
    EXPECT_EQ(i.client_secret.rfind(i.id + "_secret_", 0), 0u);
    EXPECT_NE(p->create_intent({"o", 100, "usd", "k"}).id, i.id);
    EXPECT_EQ(p->refund(i.id, 100, "r").status, "succeeded");
    EXPECT_THROW(p->create_intent({"o", 0, "usd", "k"}), ProviderError);
}

}  // namespace

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bazaar/config.hpp"

using bazaar::Config;
using bazaar::ConfigError;

TEST(Config, DefaultsApplyWhenNothingIsSet) {
    Config c = Config::from_map({});
    EXPECT_EQ(c.http_port, 8080);
    EXPECT_EQ(c.redis_port, 16379);
    EXPECT_EQ(c.fcgi_threads, 16);
    EXPECT_EQ(c.fcgi_loops, 0);
    EXPECT_TRUE(c.redis_socket.empty());
    EXPECT_EQ(c.json_body_limit, 1048576u);
    EXPECT_EQ(c.app_env, "development");
}

TEST(Config, ValuesOverrideDefaults) {
    Config c = Config::from_map({{"HTTP_PORT", "9000"}, {"PG_DB", "shop"}});
    EXPECT_EQ(c.http_port, 9000);
    EXPECT_EQ(c.pg_db, "shop");
}

TEST(Config, BadIntegerNamesTheVariable) {
    try {
        Config::from_map({{"REDIS_PORT", "abc"}});
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        std::string msg = e.what();
        EXPECT_EQ(msg.rfind("REDIS_PORT:", 0), 0u) << msg;
        EXPECT_NE(msg.find("'abc'"), std::string::npos);
        EXPECT_EQ(msg.find('\n'), std::string::npos) << "must be one line";
    }
}

TEST(Config, OutOfRangeAndTrailingGarbageAreRejected) {
    EXPECT_THROW(Config::from_map({{"HTTP_PORT", "70000"}}), ConfigError);
    EXPECT_THROW(Config::from_map({{"HTTP_PORT", "80x"}}), ConfigError);
    EXPECT_THROW(Config::from_map({{"FCGI_THREADS", "0"}}), ConfigError);
    EXPECT_THROW(Config::from_map({{"HTTP_PORT", ""}}), ConfigError);
}

TEST(Config, EnumeratedValuesAreChecked) {
    EXPECT_THROW(Config::from_map({{"LOG_LEVEL", "loud"}}), ConfigError);
    EXPECT_THROW(Config::from_map({{"APP_ENV", "prod"}}), ConfigError);
    EXPECT_EQ(Config::from_map({{"LOG_LEVEL", "warn"}}).log_level, "warn");
}

TEST(Config, WsListenAddressIsAnIpLiteral) {
    EXPECT_EQ(Config::from_map({}).ws_listen_address, "127.0.0.1");
    EXPECT_EQ(Config::from_map({{"WS_LISTEN_ADDRESS", "0.0.0.0"}}).ws_listen_address, "0.0.0.0");
    EXPECT_EQ(Config::from_map({{"WS_LISTEN_ADDRESS", "::1"}}).ws_listen_address, "::1");
    // A host or interface name would make lws bind wherever it resolves.
    for (const char* bad : {"localhost", "eth0", "", "10.0.0.256", "127.0.0.1 "})
        EXPECT_THROW(Config::from_map({{"WS_LISTEN_ADDRESS", bad}}), ConfigError) << bad;
}

TEST(Config, ConninfoQuotesValuesAndCarriesTimeouts) {
    Config c = Config::from_map({{"PG_PASSWORD", "it's"}, {"PG_TIMEOUT_MS", "1500"}});
    std::string ci = c.pg_conninfo();
    EXPECT_NE(ci.find("password='it\\'s'"), std::string::npos) << ci;
    EXPECT_NE(ci.find("connect_timeout=2"), std::string::npos) << ci;
    EXPECT_NE(ci.find("statement_timeout="), std::string::npos) << ci;
}

TEST(EnvFile, ParsesCommentsQuotesAndExport) {
    auto m = bazaar::parse_env_file(
        "# comment\n\nA=1\nexport B=two\nC=\"quoted value\"\nD='single'\n  E = "
        "spaced\nnoeq\nF=\r\n");
    EXPECT_EQ(m["A"], "1");
    EXPECT_EQ(m["B"], "two");
    EXPECT_EQ(m["C"], "quoted value");
    EXPECT_EQ(m["D"], "single");
    EXPECT_EQ(m["E"], " spaced");
    EXPECT_EQ(m.count("noeq"), 0u);
    EXPECT_EQ(m["F"], "");
}

// .env.example is the operator's list of variables: it must name every
// declared variable with the same default.
TEST(EnvExample, ListsEveryVariableWithItsDefault) {
    std::ifstream f(std::string(BAZAAR_SOURCE_DIR) + "/.env.example");
    ASSERT_TRUE(f) << ".env.example missing";
    std::stringstream ss;
    ss << f.rdbuf();
    auto values = bazaar::parse_env_file(ss.str());
    for (const auto& v : bazaar::config_vars()) {
        auto it = values.find(v.name);
        ASSERT_NE(it, values.end()) << v.name << " is not in .env.example";
        EXPECT_EQ(it->second, v.default_value) << v.name << " has another default in .env.example";
    }
    EXPECT_NO_THROW(Config::from_map(values));
}

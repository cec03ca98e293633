// The cluster client against a real Redis 7 cluster that this test starts
// itself: 3 masters + 3 replicas on loopback (ports TEST_CLUSTER_PORT ..
// +5, default 22400), cluster-node-timeout 2000 ms. Commands, scripts and
// pipelines across slots; a slot range resharded while commands run; a
// master killed with kill -9 and its replica promoted, survived by the same
// Redis object.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "../support/shell.hpp"
#include "backend_env.hpp"
#include "bazaar/error.hpp"
#include "bazaar/redis.hpp"
#include "bazaar/redis_slot.hpp"

using namespace bazaar;
namespace fs = std::filesystem;

namespace {

std::string sh(const std::string& cmd) {
    return bazaar::testing::shell_output(cmd);
}

// Below the kernel's ephemeral range (32768-60999), so that no outgoing
// connection of another test can hold one of them; so are the bus ports
// (port - 5000; Redis's default, port + 10000, would be in it). A start that
// fails anyway is retried on the next ports (kAttemptStride up).
constexpr int kAttemptStride = 10;
int first_port() {
    const char* p = std::getenv("TEST_CLUSTER_PORT");
    return p ? std::atoi(p) : 22400;
}
int port_shift = 0;  // the attempt that came up
int base_port() {
    return first_port() + port_shift;
}

class RealCluster : public ::testing::Test {
  protected:
    static inline fs::path dir;
    static inline bool up = false;
    static inline std::string why;  // each failed start's diagnosis

    static std::string cli(int port, const std::string& args) {
        return sh("redis-cli -p " + std::to_string(port) + " " + args + " 2>&1");
    }
    static int pid_of(int port) {
        std::ifstream f(dir / ("node-" + std::to_string(port) + ".pid"));
        int pid = 0;
        f >> pid;
        return pid;
    }
    static bool all_ok(int nodes) {
        for (int i = 0; i < nodes; ++i) {
            int port = base_port() + i;
            if (cli(port, "cluster info").find("cluster_state:ok") == std::string::npos)
                return false;
        }
        return true;
    }

    static void SetUpTestSuite() {
        for (int attempt = 0; attempt < 3 && !up; ++attempt) {
            port_shift = attempt * kAttemptStride;
            up = start_cluster();
            if (!up) {
                why += "attempt on ports " + std::to_string(base_port()) + "+: " + diagnosis();
                TearDownTestSuite();
            }
        }
    }

    // Six nodes, then redis-cli --cluster create; true once all say ok.
    static bool start_cluster() {
        dir = fs::temp_directory_path() /
              ("bazaar-cluster-" + std::to_string(getpid()) + "-" + std::to_string(base_port()));
        fs::create_directories(dir);
        std::string create = "redis-cli --cluster create";
        for (int i = 0; i < 6; ++i) {
            int port = base_port() + i;
            std::string cmd = "redis-server --port " + std::to_string(port) + " --cluster-port " +
                              std::to_string(port - 5000) +
                              " --bind 127.0.0.1 --cluster-enabled yes --cluster-node-timeout 2000"
                              " --cluster-config-file nodes-" +
                              std::to_string(port) + ".conf --dir " + dir.string() +
                              " --save '' --appendonly no --daemonize yes --pidfile " +
                              (dir / ("node-" + std::to_string(port) + ".pid")).string() +
                              " --logfile " +
                              (dir / ("node-" + std::to_string(port) + ".log")).string();
            if (std::system(cmd.c_str()) != 0) return false;
            create += " 127.0.0.1:" + std::to_string(port);
        }
        for (int i = 0; i < 6; ++i)
            for (int t = 0;
                 t < 100 && cli(base_port() + i, "ping").find("PONG") == std::string::npos; ++t)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        sh(create + " --cluster-replicas 1 --cluster-yes >" + (dir / "create.log").string() +
           " 2>&1");
        for (int t = 0; t < 300 && !all_ok(6); ++t)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        return all_ok(6);
    }

    // What a failed start left: the end of redis-cli's output, each node's
    // answer to PING and its log's warnings, for the failure message.
    static std::string diagnosis() {
        std::string out = "\n--- create.log (end):\n" +
                          sh("tail -c 1500 " + (dir / "create.log").string() + " 2>&1");
        for (int i = 0; i < 6; ++i) {
            int port = base_port() + i;
            out +=
                "--- node " + std::to_string(port) + ": ping " + cli(port, "ping") +
                sh("grep -E '#|Error|error' " +
                   (dir / ("node-" + std::to_string(port) + ".log")).string() + " 2>&1 | tail -5");
        }
        return out;
    }

    static void TearDownTestSuite() {
        for (int i = 0; i < 6; ++i) {
            int pid = pid_of(base_port() + i);
            if (pid > 0) kill(pid, SIGKILL);
        }
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    void SetUp() override { ASSERT_TRUE(up) << "the test cluster did not start:\n" << why; }

    static RedisOptions options() {
        RedisOptions o;
        o.cluster = {"127.0.0.1:" + std::to_string(base_port()),
                     "127.0.0.1:" + std::to_string(base_port() + 1)};
        o.timeout_ms = 2000;
        return o;
    }

    static std::string script_dir() {
        static std::string d = [] {
            auto p = dir / "lua";
            fs::create_directories(p);
            std::ofstream(p / "cluster_incr_pair.lua")
                << "redis.call('INCRBY', KEYS[1], ARGV[1])\n"
                   "return redis.call('INCRBY', KEYS[2], ARGV[1])\n";
            load_scripts(p.string());
            return p.string();
        }();
        return d;
    }

    // Runs `fn` until it succeeds, counting outages (503s); fails the test
    // after `limit` of them.
    template <class F>
    static auto retrying(F&& fn, int& outages, int limit = 400) {
        for (;;) {
            try {
                return fn();
            } catch (const Error& e) {
                if (e.code() != ErrorCode::kUnavailable || ++outages > limit) throw;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        }
    }
};

TEST_F(RealCluster, CommandsScriptsAndPipelinesAcrossSlots) {
    script_dir();
    Redis r(options());
    r.on_every_master({"FLUSHALL"});
    std::vector<RedisArgs> sets, gets;
    std::set<int> slots;
    for (int i = 0; i < 300; ++i) {
        std::string k = "ct:key:" + std::to_string(i);
        slots.insert(redis_slot::key_slot(k));
        sets.push_back({"SET", k, "v" + std::to_string(i)});
        gets.push_back({"GET", k});
    }
    ASSERT_GT(slots.size(), 200u);
    for (const auto& rep : r.pipeline(sets)) EXPECT_EQ(rep.str(), "OK");
    auto replies = r.pipeline(gets);
    for (int i = 0; i < 300; ++i) EXPECT_EQ(replies[i].str(), "v" + std::to_string(i));
    // Every master holds some of them.
    auto sizes = r.on_every_master({"DBSIZE"});
    ASSERT_EQ(sizes.size(), 3u);
    for (const auto& s : sizes) EXPECT_GT(s.integer(), 0);
    // Scripts on every node; a flushed script cache reloads per node.
    for (int u = 0; u < 30; ++u) {
        std::string tag = "{u:" + std::to_string(u) + "}";
        EXPECT_EQ(r.eval_script("cluster_incr_pair", {tag + ":a", tag + ":b"}, {"2"}).integer(), 2);
    }
    r.on_every_master({"SCRIPT", "FLUSH"});
    for (int u = 0; u < 30; ++u) {
        std::string tag = "{u:" + std::to_string(u) + "}";
        EXPECT_EQ(r.eval_script("cluster_incr_pair", {tag + ":a", tag + ":b"}, {"2"}).integer(), 4);
    }
    // Keys of two slots in one script: refused before reaching Redis.
    EXPECT_THROW(r.eval_script("cluster_incr_pair", {"ct:key:1", "ct:key:2"}, {"1"}),
                 std::logic_error);
    // SCAN on every master finds them all; a cross-slot UNLINK is split.
    std::size_t found = 0;
    r.scan_all("ct:key:*", 100, [&](const Reply& page) { found += page.size(); });
    EXPECT_GE(found, 300u);
    EXPECT_EQ(r.command({"UNLINK", "ct:key:1", "ct:key:2", "ct:key:3", "ct:none"}).integer(), 3);
    EXPECT_TRUE(r.command({"GET", "ct:key:2"}).is_nil());
    // WAIT on the key's master: its replica acknowledges (a fresh cluster's
    // replicas may still be in their first sync: a few rounds). WAIT's
    // timeout equals the socket timeout here: it must not cut the socket.
    r.command({"SET", "ct:key:10", "w"});
    std::int64_t acked = 0;
    for (int round = 0; round < 10 && acked < 1; ++round)
        acked = r.wait_replicas("ct:key:10", 1, 2000).integer();
    EXPECT_EQ(acked, 1);
}

TEST_F(RealCluster, ReshardWhileCommandsRunNeedsOnlyRetries) {
    script_dir();
    Redis setup(options());
    std::string from = sh("redis-cli -p " + std::to_string(base_port()) + " cluster myid");
    std::string to = sh("redis-cli -p " + std::to_string(base_port() + 1) + " cluster myid");
    while (!from.empty() && std::isspace(static_cast<unsigned char>(from.back()))) from.pop_back();
    while (!to.empty() && std::isspace(static_cast<unsigned char>(to.back()))) to.pop_back();
    // Keys in the slots about to move: the lowest slots of the first master.
    std::vector<std::string> keys;
    for (int i = 0; keys.size() < 40; ++i) {
        std::string k = "rs:" + std::to_string(i);
        if (redis_slot::key_slot(k) < 300) keys.push_back(k);
    }
    for (const auto& k : keys) setup.command({"DEL", k});
    std::atomic<bool> stop{false};
    std::atomic<long> done{0};
    int outages = 0;
    std::vector<long> expected(keys.size(), 0);
    std::string failure;
    std::thread load([&] {
        Redis r(options());
        try {
            for (long n = 0; !stop; ++n) {
                std::size_t i = static_cast<std::size_t>(n) % keys.size();
                retrying([&] { return r.command({"INCR", keys[i]}); }, outages);
                ++expected[i];
                // A pipeline spanning nodes and the migrating slots.
                auto rep = retrying(
                    [&] {
                        return r.pipeline({{"GET", keys[i]},
                                           {"GET", keys[(i + 1) % keys.size()]},
                                           {"SET", "rs:other:" + std::to_string(n % 50), "x"}});
                    },
                    outages);
                if (rep[0].integer() != expected[i]) failure = "lost an INCR of " + keys[i];
                ++done;
            }
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    std::string out = sh("redis-cli --cluster reshard 127.0.0.1:" + std::to_string(base_port()) +
                         " --cluster-from " + from + " --cluster-to " + to +
                         " --cluster-slots 300 --cluster-yes 2>&1");
    stop = true;
    load.join();
    EXPECT_EQ(failure, "");
    EXPECT_GT(done.load(), 0);
    // Every counter equals the INCRs the loop saw acknowledged.
    for (std::size_t i = 0; i < keys.size(); ++i)
        EXPECT_EQ(setup.command({"GET", keys[i]}).integer(), expected[i]) << keys[i];
    // The slots did move, and the client follows them.
    Redis after(options());
    for (const auto& k : keys) after.command({"GET", k});
    std::string owner =
        sh("redis-cli -p " + std::to_string(base_port() + 1) + " cluster countkeysinslot " +
           std::to_string(redis_slot::key_slot(keys.front())));
    EXPECT_NE(owner.find_first_not_of("0\n"), std::string::npos)
        << "the reshard did not move slot " << redis_slot::key_slot(keys.front()) << ": " << out;
    std::printf("reshard: %ld loop iterations, %d outages (503) retried\n", done.load(), outages);
}

TEST_F(RealCluster, AKilledMasterIsSurvivedWithoutANewObject) {
    script_dir();
    Redis r(options());
    // A key on the master at base_port()+2 (untouched by the reshard).
    std::string victim_port = std::to_string(base_port() + 2);
    std::string k;
    for (int i = 0;; ++i) {
        k = "fo:" + std::to_string(i);
        r.command({"SET", k, "before"});
        if (cli(base_port() + 2, "get " + k).find("before") != std::string::npos) break;
    }
    std::string tag = "{" + k + "}";
    r.command({"SET", k, "acknowledged"});
    std::int64_t acked = 0;
    for (int round = 0; round < 10 && acked < 1; ++round)
        acked = r.wait_replicas(k, 1, 2000).integer();
    ASSERT_EQ(acked, 1);
    int pid = pid_of(base_port() + 2);
    ASSERT_GT(pid, 0);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int outages = 0;
    // The same object: the first calls are 503s until a replica is promoted
    // (cluster-node-timeout 2 s + election) and the map refreshed.
    Reply got = retrying([&] { return r.command({"GET", k}); }, outages, 600);
    EXPECT_EQ(got.str(), "acknowledged") << "a write WAIT confirmed survives the failover";
    retrying([&] { return r.command({"SET", k, "after"}); }, outages);
    EXPECT_EQ(retrying(
                  [&] {
                      return r.eval_script("cluster_incr_pair", {tag + ":a", tag + ":b"}, {"1"});
                  },
                  outages)
                  .integer(),
              1);
    EXPECT_GE(outages, 1);
    std::printf("failover: %d outages (503) before the promoted replica served\n", outages);
    // The old port is gone for good; the new master is a former replica.
    EXPECT_EQ(cli(base_port() + 2, "ping").find("PONG"), std::string::npos);
}

}  // namespace

// replication::confirm against the test stack's Redis: off costs nothing, no
// replica is a logged, counted short WAIT (never an error), and a real
// replica started here acknowledges the write.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "backend_env.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/redis.hpp"
#include "bazaar/replication.hpp"

using namespace bazaar;

namespace {

// These drive the one Redis of a single-mode stack (a replica of it started
// here); a cluster-mode stack's WAIT is RealCluster's subject
// (redis_cluster_test.cpp), and the cluster pass runs replication there.
#define SKIP_ON_A_CLUSTER_STACK()                         \
    if (!stacktest::stack_config().redis_cluster.empty()) \
    GTEST_SKIP() << "single-Redis test; the stack runs a Redis Cluster"

RedisOptions master_options() {
    auto c = stacktest::stack_config();
    return {c.redis_host, c.redis_port, c.redis_timeout_ms, ""};
}

// Calls of WAIT the server has answered so far (INFO commandstats).
long long wait_calls(Redis& r) {
    std::string info(r.command({"INFO", "commandstats"}).str());
    auto at = info.find("cmdstat_wait:calls=");
    if (at == std::string::npos) return 0;
    return std::atoll(info.c_str() + at + 19);
}

int free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        close(fd);
        return 0;
    }
    int port = ntohs(a.sin_port);
    close(fd);
    return port;
}

struct PolicyReset {
    ~PolicyReset() { replication::configure(0, 50); }
};

}  // namespace

TEST(Replication, OffSendsNoWait) {
    SKIP_ON_A_CLUSTER_STACK();
    PolicyReset reset;
    replication::configure(0, 50);
    Redis r(master_options());
    r.command({"SET", "test:repl:off", "1"});
    long long before = wait_calls(r);
    EXPECT_TRUE(replication::confirm(r, "test:repl:off", "test write"));
    EXPECT_EQ(wait_calls(r), before);
}

TEST(Replication, ShortWaitIsCountedAndTheWriteStillSucceeds) {
    SKIP_ON_A_CLUSTER_STACK();
    PolicyReset reset;
    metrics::open("", {"unmatched"});
    Redis r(master_options());
    // One replica more than the server has: the WAIT must come back short.
    std::string info(r.command({"INFO", "replication"}).str());
    auto at = info.find("connected_slaves:");
    ASSERT_NE(at, std::string::npos);
    replication::configure(std::atoi(info.c_str() + at + 17) + 1, 10);
    r.command({"SET", "test:repl:short", "1"});
    long long before = wait_calls(r);
    auto counted = metrics::counter_value(metrics::Counter::kRedisWaitShort);
    EXPECT_FALSE(replication::confirm(r, "test:repl:short", "test write"));
    EXPECT_EQ(wait_calls(r), before + 1);
    EXPECT_EQ(metrics::counter_value(metrics::Counter::kRedisWaitShort), counted + 1);
    EXPECT_EQ(r.command({"GET", "test:repl:short"}).str(), "1");
}

TEST(Replication, AReplicaAcknowledgesTheWrite) {
    SKIP_ON_A_CLUSTER_STACK();
    PolicyReset reset;
    auto c = stacktest::stack_config();
    int port = free_port();
    ASSERT_GT(port, 0);
    auto dir = std::filesystem::temp_directory_path() / ("bazaar-replica-" + std::to_string(port));
    std::filesystem::create_directories(dir);
    std::string start = "redis-server --port " + std::to_string(port) + " --bind 127.0.0.1" +
                        " --replicaof " + c.redis_host + " " + std::to_string(c.redis_port) +
                        " --save '' --appendonly no --daemonize yes --dir " + dir.string() +
                        " --logfile " + (dir / "log").string();
    ASSERT_EQ(std::system(start.c_str()), 0);
    Redis replica({"127.0.0.1", port, 2000, ""});
    Redis master(master_options());
    // Up to a minute for the full sync, on a loaded machine.
    bool linked = false;
    for (int i = 0; i < 600 && !linked; ++i) {
        try {
            linked = std::string(replica.command({"INFO", "replication"}).str())
                         .find("master_link_status:up") != std::string::npos;
        } catch (const std::exception&) {
        }
        if (!linked) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (linked) {
        replication::configure(1, 30000);
        master.command({"SET", "test:repl:acked", "42"});
        EXPECT_TRUE(replication::confirm(master, "test:repl:acked", "test write"));
    }
    try {
        replica.command({"SHUTDOWN", "NOSAVE"});
    } catch (const std::exception&) {
        // The server closes the connection as it exits.
    }
    std::filesystem::remove_all(dir);
    EXPECT_TRUE(linked) << "the replica never synced; see its log";
}

// Cluster pass only (queue_cluster_tests, registered as cluster.queue_failover
// in tests/CMakeLists.txt): the master that owns a queue's hash slot is killed
// with -9 while a producer adds jobs and two workers run them. A replica is
// promoted (cluster-node-timeout 2 s on the test stack) and the queue goes on
// without restarting any process.
//
// What the test proves about acknowledged adds (Redis replication is
// asynchronous, so an add the master acknowledged can be lost if it dies before
// its replica has the write):
//   - the producer calls WAIT 1 after every batch; every job acknowledged
//     before a WAIT that reported a replica ("confirmed") completes;
//   - the jobs acknowledged since the last confirmed WAIT when the master
//     died ("at risk", at most one batch) each either complete or are gone
//     from Redis altogether (accounted for: the documented loss window); none
//     is left stuck;
//   - no job that was never added runs, and both workers are still the
//     processes started before the kill.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <set>
#include <sstream>
#include <thread>

#include "../support/shell.hpp"
#include "bazaar/queue/admin.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/redis_slot.hpp"
#include "queue_test_support.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::queue;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string shell(const std::string& cmd) {
    return bazaar::testing::shell_output(cmd);
}

std::vector<std::string> seed_ports() {
    std::vector<std::string> ports;
    const char* seeds = std::getenv("REDIS_CLUSTER");
    std::stringstream in(seeds ? seeds : "");
    for (std::string s; std::getline(in, s, ',');)
        if (auto c = s.rfind(':'); c != std::string::npos) ports.push_back(s.substr(c + 1));
    return ports;
}

// The port of the live master serving `slot`, or "" (from CLUSTER NODES of the
// first node that answers).
std::string master_port_of(int slot) {
    for (const auto& seed : seed_ports()) {
        std::string nodes = shell("redis-cli -p " + seed + " cluster nodes 2>/dev/null");
        if (nodes.find("master") == std::string::npos) continue;
        std::istringstream lines(nodes);
        for (std::string line; std::getline(lines, line);) {
            std::istringstream f(line);
            std::vector<std::string> w;
            for (std::string x; f >> x;) w.push_back(x);
            if (w.size() < 9 || w[2].find("master") == std::string::npos ||
                w[2].find("fail") != std::string::npos)
                continue;
            for (std::size_t i = 8; i < w.size(); ++i) {
                if (w[i].front() == '[') continue;
                auto dash = w[i].find('-');
                int from = std::stoi(w[i].substr(0, dash));
                int to = dash == std::string::npos ? from : std::stoi(w[i].substr(dash + 1));
                if (slot >= from && slot <= to) {
                    auto colon = w[1].rfind(':'), at = w[1].find('@');
                    return w[1].substr(colon + 1, at - colon - 1);
                }
            }
        }
        return "";
    }
    return "";
}

int stack_svc(const std::string& args) {
    const char* root = std::getenv("BAZAAR_ROOT");
    return std::system((std::string(root ? root : BAZAAR_SOURCE_DIR) + "/scripts/stack _test-svc " +
                        args + " >/dev/null 2>&1")
                           .c_str());
}

bool alive(pid_t pid) {
    int st = 0;
    return waitpid(pid, &st, WNOHANG) == 0;
}

TEST(QueueClusterFailover, MasterKilledMidRunLosesNoConfirmedJob) {
    ASSERT_NE(std::getenv("REDIS_CLUSTER"), nullptr) << "runs in the cluster pass only";
    qt::create_test_tables();
    auto r = qt::redis();
    const std::string name = qt::unique_queue("failover");
    const QueueKeys keys(name);
    const int slot = redis_slot::key_slot(keys.meta);
    const std::string doomed = master_port_of(slot);
    ASSERT_FALSE(doomed.empty()) << "no master serves slot " << slot;

    std::map<std::string, std::string> env{
        {"TEST_WORKER_QUEUES", name}, {"WORKER_THREADS", "4"}, {"QUEUE_LEASE_MS", "2000"}};
    qt::WorkerProcess w1(env), w2(env);

    constexpr int kBatch = 10;
    constexpr int kBatchesBeforeKill = 30;
    std::set<std::string> confirmed, pending, at_risk, acked;
    std::atomic<bool> killed{false}, back{false};
    std::thread killer;
    struct Joiner {  // also when an assertion returns early
        std::thread& t;
        ~Joiner() {
            if (t.joinable()) t.join();
        }
    } joiner{killer};
    int batches = 0, add_errors = 0;
    std::string promoted;

    // Add until the killed node is back as a replica, then 30 batches more.
    int after_back = 0;
    for (int b = 0; after_back < 30; ++b) {
        ASSERT_LT(b, 5000) << "the killed node never came back";
        if (b == kBatchesBeforeKill) {
            killer = std::thread([&] {
                stack_svc("kill redis-node " + doomed);
                killed = true;
                // A replica takes over the slot; then the old master rejoins.
                qt::eventually(
                    [&] {
                        auto p = master_port_of(slot);
                        if (!p.empty() && p != doomed) promoted = p;
                        return !promoted.empty();
                    },
                    seconds(60));
                stack_svc("start redis-node " + doomed);
                back = true;
            });
        }
        std::vector<NewJob> jobs;
        for (int i = 0; i < kBatch; ++i) {
            NewJob j{"echo", {{"record", true}, {"result", b * kBatch + i}}, {}};
            j.options.job_id = "j" + std::to_string(b) + "-" + std::to_string(i);
            jobs.push_back(std::move(j));
        }
        // A producer retries a failed add with the same job ids (idempotent).
        bool added = false;
        for (int attempt = 0; attempt < 600 && !added; ++attempt) {
            try {
                add_bulk(*r, name, jobs);
                added = true;
            } catch (const std::exception&) {
                ++add_errors;
                // The connection of the pending adds broke: they are at risk.
                at_risk.insert(pending.begin(), pending.end());
                pending.clear();
                std::this_thread::sleep_for(milliseconds(100));
            }
        }
        ASSERT_TRUE(added) << "adds never recovered after the failover";
        for (auto& j : jobs) {
            acked.insert(j.options.job_id);
            pending.insert(j.options.job_id);
        }
        ++batches;
        try {
            if (r->wait_replicas(keys.meta, 1, 500).integer() >= 1) {
                confirmed.insert(pending.begin(), pending.end());
                pending.clear();
            }
        } catch (const std::exception&) {
            at_risk.insert(pending.begin(), pending.end());
            pending.clear();
        }
        if (back) ++after_back;
    }
    if (killer.joinable()) killer.join();
    ASSERT_TRUE(killed);
    ASSERT_FALSE(promoted.empty()) << "no replica was promoted";
    // Whatever is still pending is on the new master, which did not die.
    ASSERT_TRUE(qt::eventually([&] { return r->wait_replicas(keys.meta, 1, 1000).integer() >= 1; },
                               seconds(60)));
    confirmed.insert(pending.begin(), pending.end());
    for (auto& id : at_risk) confirmed.erase(id);

    auto done = [&](const std::string& id) {
        return qt::sql_int("SELECT count(*) FROM queue_test_done WHERE queue = '" + name +
                           "' AND job_id = '" + id + "'") > 0;
    };
    // Every confirmed job completes.
    ASSERT_TRUE(qt::eventually(
        [&] {
            return qt::sql_int(
                       "SELECT count(DISTINCT job_id) FROM queue_test_done WHERE queue = '" + name +
                       "' AND job_id <> ALL(ARRAY['" +
                       [&] {
                           std::string s;
                           for (auto& id : at_risk) s += (s.empty() ? "" : "','") + id;
                           return s.empty() ? std::string("-") : s;
                       }() +
                       "'])") == static_cast<std::int64_t>(confirmed.size());
        },
        seconds(180)))
        << "confirmed: " << confirmed.size() << ", at risk: " << at_risk.size();
    for (auto& id : confirmed) EXPECT_TRUE(done(id)) << id << " was confirmed but never ran";

    // Every at-risk job either ran or is gone from Redis: none left stuck.
    int lost = 0;
    ASSERT_TRUE(qt::eventually(
        [&] {
            lost = 0;
            for (auto& id : at_risk) {
                if (done(id)) continue;
                if (get_job(*r, name, id).has_value()) return false;  // still to run
                ++lost;
            }
            return true;
        },
        seconds(120)));
    EXPECT_LE(at_risk.size(), static_cast<std::size_t>(kBatch) * 2)
        << "the loss window is the adds since the last confirmed WAIT";

    // Nothing ran that was not added, and the workers never restarted.
    EXPECT_EQ(qt::sql_int("SELECT count(DISTINCT job_id) FROM queue_test_done WHERE queue = '" +
                          name + "'"),
              static_cast<std::int64_t>(acked.size()) - lost);
    EXPECT_TRUE(alive(w1.pid()));
    EXPECT_TRUE(alive(w2.pid()));
    std::printf(
        "[failover] %d batches of %d, master %s killed, %s promoted, %d add errors, "
        "%zu confirmed, %zu at risk, %d lost\n",
        batches, kBatch, doomed.c_str(), promoted.c_str(), add_errors, confirmed.size(),
        at_risk.size(), lost);
}

}  // namespace

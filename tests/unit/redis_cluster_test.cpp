// The Redis Cluster client (shared/src/redis_cluster.cpp) against fake nodes
// (fake_redis_node.hpp): routing, pipelines split per node, MOVED, ASK,
// NOSCRIPT per node, a dead node, bounded redirections; and the command-key
// table (redis_command_keys.cpp) against every command the code base sends.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "bazaar/error.hpp"
#include "bazaar/redis.hpp"
#include "bazaar/redis_command_keys.hpp"
#include "bazaar/redis_slot.hpp"
#include "fake_redis_node.hpp"

using namespace bazaar;
using bazaar::testing::FakeRedisNode;

namespace {

/* ---- the command-key table ---- */

TEST(RedisCommandKeys, KeysByCommandShape) {
    using redis_keys::keys_of;
    using V = std::vector<std::string_view>;
    EXPECT_EQ(keys_of({"GET", "a"}), (V{"a"}));
    EXPECT_EQ(keys_of({"get", "a"}), (V{"a"})) << "names are case-insensitive";
    EXPECT_EQ(keys_of({"MSET", "a", "1", "b", "2"}), (V{"a", "b"}));
    EXPECT_EQ(keys_of({"DEL", "a", "b", "c"}), (V{"a", "b", "c"}));
    EXPECT_EQ(keys_of({"EVALSHA", "sha", "2", "k1", "k2", "argv1"}), (V{"k1", "k2"}));
    EXPECT_EQ(keys_of({"EVALSHA", "sha", "0", "argv1"}), V{});
    EXPECT_EQ(keys_of({"BZPOPMIN", "q1", "q2", "5"}), (V{"q1", "q2"}));
    EXPECT_EQ(keys_of({"BLPOP", "l", "1"}), (V{"l"}));
    EXPECT_EQ(keys_of({"XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "s1", "s2", "0", "$"}),
              (V{"s1", "s2"}));
    EXPECT_EQ(keys_of({"ZUNIONSTORE", "dst", "2", "a", "b", "WEIGHTS", "1", "2"}),
              (V{"dst", "a", "b"}));
    EXPECT_EQ(keys_of({"XGROUP", "CREATE", "s", "g", "$"}), (V{"s"}));
    EXPECT_EQ(keys_of({"SPUBLISH", "ch", "msg"}), (V{"ch"}));
    EXPECT_TRUE(keys_of({"PING"}).empty());
    EXPECT_TRUE(keys_of({"WAIT", "1", "100"}).empty());
    EXPECT_TRUE(keys_of({"SCAN", "0", "MATCH", "c:*"}).empty());
    EXPECT_THROW(keys_of({"EVALSHA", "sha", "3", "k"}), std::logic_error);
    EXPECT_THROW(keys_of({"GET"}), std::logic_error);
}

TEST(RedisCommandKeys, UnknownCommandIsALogicErrorNamingIt) {
    try {
        redis_keys::keys_of({"FROBNICATE", "x"});
        FAIL() << "expected std::logic_error";
    } catch (const std::logic_error& e) {
        EXPECT_NE(std::string(e.what()).find("FROBNICATE"), std::string::npos);
    }
}

TEST(RedisCommandKeys, SlotOfACommandAndCrossSlotRefused) {
    EXPECT_EQ(redis_keys::command_slot({"PING"}), redis_keys::kNoSlot);
    EXPECT_EQ(redis_keys::command_slot({"GET", "{u:1}:cart"}), redis_slot::key_slot("{u:1}"));
    EXPECT_EQ(redis_keys::command_slot({"EVALSHA", "x", "2", "{u:1}:a", "{u:1}:b"}),
              redis_slot::key_slot("u:1"));
    ASSERT_NE(redis_slot::key_slot("a"), redis_slot::key_slot("b"));
    EXPECT_THROW(redis_keys::command_slot({"MGET", "a", "b"}), std::logic_error);
    EXPECT_TRUE(redis_keys::is_summing_multikey({"UNLINK", "a", "b"}));
    EXPECT_FALSE(redis_keys::is_summing_multikey({"MGET", "a", "b"}));
}

// Every command name the code base sends through class Redis must be in the
// routing table, or cluster mode would throw on it at run time.
TEST(RedisCommandKeys, TableKnowsEveryCommandTheCodeBaseSends) {
    namespace fs = std::filesystem;
    const std::regex call(
        R"re((RedisArgs\s*\{|RedisArgs\s+[a-z_]+\s*\{|command\(\s*\{|pipeline\(\s*\{\s*\{|push_back\(\s*\{|emplace_back\(\s*RedisArgs\s*\{)\s*"([A-Z][A-Z_]*)")re");
    std::set<std::string> seen;
    for (const char* dir :
         {"shared", "fcgi", "workers", "ws", "cli", "bench", "tests/backend", "tests/queue"}) {
        fs::path root = fs::path(BAZAAR_SOURCE_DIR) / dir;
        if (!fs::exists(root)) continue;
        for (const auto& f : fs::recursive_directory_iterator(root)) {
            auto ext = f.path().extension();
            if (ext != ".cpp" && ext != ".hpp") continue;
            std::ifstream in(f.path());
            std::stringstream ss;
            ss << in.rdbuf();
            std::string text = ss.str();
            for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it) {
                std::string name = (*it)[2];
                // Upper-case words with an underscore in such lists are
                // config keys or error codes, not commands.
                if (name.find('_') != std::string::npos) continue;
                seen.insert(name);
            }
        }
    }
    ASSERT_GT(seen.size(), 20u) << "the scan found too few commands: is the regex broken?";
    for (const auto& name : seen) {
        RedisArgs probe{name};
        for (int i = 0; i < 8; ++i) probe.add("1");  // enough arguments for any shape
        if (name == "XREAD" || name == "XREADGROUP") probe.add("STREAMS").add("s").add("0");
        EXPECT_NO_THROW(redis_keys::keys_of(probe)) << name << " is missing from the table";
    }
    EXPECT_TRUE(seen.count("EVALSHA") && seen.count("SET") && seen.count("PING"));
}

/* ---- a fake 3-master cluster ---- */

struct Range {
    int lo, hi;
    std::size_t node;
};

class FakeCluster {
  public:
    explicit FakeCluster(std::size_t n = 3) {
        for (std::size_t i = 0; i < n; ++i) {
            nodes_.push_back(std::make_unique<FakeRedisNode>());
            data_.emplace_back();
            loaded_.push_back(false);
        }
        int per = redis_slot::kSlots / static_cast<int>(n);
        for (std::size_t i = 0; i < n; ++i)
            ranges_.push_back(
                {static_cast<int>(i) * per,
                 i + 1 == n ? redis_slot::kSlots - 1 : static_cast<int>(i + 1) * per - 1, i});
        for (std::size_t i = 0; i < n; ++i)
            nodes_[i]->set_handler(
                [this, i](const auto& cmd, auto& conn) { return handle(i, cmd, conn); });
    }

    FakeRedisNode& node(std::size_t i) { return *nodes_[i]; }
    RedisOptions options() {
        RedisOptions o;
        o.cluster = {nodes_[0]->address()};
        o.timeout_ms = 1000;
        return o;
    }
    std::size_t owner(int slot) {
        std::lock_guard lock(mu_);
        return owner_locked(slot);
    }
    // A key whose slot node `i` owns, distinct per `tag`.
    std::string key_on(std::size_t i, const std::string& tag) {
        for (int n = 0;; ++n) {
            std::string k = tag + ":" + std::to_string(n);
            if (owner(redis_slot::key_slot(k)) == i) return k;
        }
    }
    // Slot `slot` now belongs to node `to` (a finished reshard or failover).
    void move_slot(int slot, std::size_t to) {
        std::lock_guard lock(mu_);
        std::vector<Range> next;
        for (const auto& r : ranges_) {
            if (slot < r.lo || slot > r.hi) {
                next.push_back(r);
                continue;
            }
            if (r.lo < slot) next.push_back({r.lo, slot - 1, r.node});
            next.push_back({slot, slot, to});
            if (slot < r.hi) next.push_back({slot + 1, r.hi, r.node});
        }
        ranges_ = next;
    }
    void move_node_slots(std::size_t from, std::size_t to) {
        std::lock_guard lock(mu_);
        for (auto& r : ranges_)
            if (r.node == from) r.node = to;
    }
    // Slot `slot` is migrating from its owner to node `to`: the owner answers ASK.
    void migrate(int slot, std::size_t to) {
        std::lock_guard lock(mu_);
        ask_[slot] = to;
    }
    // Two nodes sending each other MOVED for `slot` forever (a broken cluster).
    void ping_pong(int slot) {
        std::lock_guard lock(mu_);
        ping_pong_ = slot;
    }
    void flush_scripts(std::size_t i) {
        std::lock_guard lock(mu_);
        loaded_[i] = false;
    }
    std::string value(std::size_t i, const std::string& key) {
        std::lock_guard lock(mu_);
        auto it = data_[i].find(key);
        return it == data_[i].end() ? std::string() : it->second;
    }

  private:
    using R = FakeRedisNode;

    std::size_t owner_locked(int slot) {
        for (const auto& r : ranges_)
            if (slot >= r.lo && slot <= r.hi) return r.node;
        return SIZE_MAX;
    }
    std::string addr(std::size_t i) { return nodes_[i]->address(); }

    std::string handle(std::size_t i, const std::vector<std::string>& cmd,
                       FakeRedisNode::Conn& conn) {
        std::lock_guard lock(mu_);
        const std::string& name = cmd[0];
        if (name == "CLUSTER") {
            std::vector<std::string> entries;
            for (const auto& r : ranges_)
                entries.push_back(
                    R::array({R::integer(r.lo), R::integer(r.hi),
                              R::array({R::bulk("127.0.0.1"), R::integer(nodes_[r.node]->port()),
                                        R::bulk("id" + std::to_string(r.node))})}));
            return R::array(entries);
        }
        if (name == "PING") return R::simple("PONG");
        if (name == "WAIT") return R::integer(static_cast<long long>(i));
        if (name == "SCRIPT") {
            if (cmd[1] == "LOAD") {
                loaded_[i] = true;
                return R::bulk("sha");
            }
            loaded_[i] = false;
            return R::simple("OK");
        }
        if (name == "SCAN") {
            std::vector<std::string> keys;
            for (const auto& [k, v] : data_[i]) keys.push_back(R::bulk(k));
            return R::array({R::bulk("0"), R::array(keys)});
        }
        // Keyed commands: the key decides the node, as in a real cluster.
        std::string key = name == "EVALSHA" ? cmd[3] : cmd[1];
        int slot = redis_slot::key_slot(key);
        if (ping_pong_ == slot)
            return R::error("MOVED " + std::to_string(slot) + " " + addr(i == 0 ? 1 : 0));
        std::size_t own = owner_locked(slot);
        auto ask = ask_.find(slot);
        bool importing = ask != ask_.end() && ask->second == i && conn.asking;
        if (own != i && !importing)
            return R::error("MOVED " + std::to_string(slot) + " " + addr(own));
        if (own == i && ask != ask_.end() && !data_[i].count(key))
            return R::error("ASK " + std::to_string(slot) + " " + addr(ask->second));
        if (name == "GET") {
            auto it = data_[i].find(key);
            return it == data_[i].end() ? R::nil() : R::bulk(it->second);
        }
        if (name == "SET") {
            data_[i][key] = cmd[2];
            return R::simple("OK");
        }
        if (name == "DEL" || name == "UNLINK") {
            long long n = 0;
            for (std::size_t a = 1; a < cmd.size(); ++a) n += data_[i].erase(cmd[a]);
            return R::integer(n);
        }
        if (name == "EVALSHA") {
            if (!loaded_[i]) return R::error("NOSCRIPT No matching script. Please use EVAL.");
            return R::integer(static_cast<long long>(i));
        }
        return R::error("ERR fake node does not know " + name);
    }

    std::mutex mu_;
    std::vector<std::unique_ptr<FakeRedisNode>> nodes_;
    std::vector<Range> ranges_;
    std::vector<std::map<std::string, std::string>> data_;
    std::vector<bool> loaded_;
    std::map<int, std::size_t> ask_;
    int ping_pong_ = -1;
};

std::string script_dir() {
    static std::string dir = [] {
        auto d = std::filesystem::temp_directory_path() /
                 ("bazaar-cluster-lua-" + std::to_string(getpid()));
        std::filesystem::create_directories(d);
        std::ofstream(d / "cluster_probe.lua") << "return redis.call('GET', KEYS[1])\n";
        load_scripts(d.string());
        return d.string();
    }();
    return dir;
}

TEST(RedisCluster, CommandsGoToTheMasterOfTheirSlot) {
    FakeCluster fc;
    Redis r(fc.options());
    ASSERT_TRUE(r.is_cluster());
    for (std::size_t i = 0; i < 3; ++i) {
        std::string k = fc.key_on(i, "route");
        r.command({"SET", k, "v" + std::to_string(i)});
        EXPECT_EQ(fc.value(i, k), "v" + std::to_string(i)) << "SET reached node " << i;
        EXPECT_EQ(r.command({"GET", k}).str(), "v" + std::to_string(i));
    }
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(fc.node(i).count("SET"), 1u);
    EXPECT_EQ(fc.node(0).count("CLUSTER"), 1u) << "the map is asked for once";
    // A key layout bug is refused before anything is sent.
    EXPECT_THROW(r.command({"MGET", fc.key_on(0, "x"), fc.key_on(1, "x")}), std::logic_error);
    EXPECT_THROW(r.command({"FROBNICATE", "x"}), std::logic_error);
}

TEST(RedisCluster, PipelineIsSplitPerNodeAndRepliesKeepTheCallersOrder) {
    FakeCluster fc;
    Redis r(fc.options());
    std::vector<std::string> keys;
    std::vector<RedisArgs> sets, gets;
    for (int n = 0; n < 30; ++n) {
        std::string k = fc.key_on(static_cast<std::size_t>(n % 3), "p" + std::to_string(n));
        keys.push_back(k);
        sets.push_back({"SET", k, "value-" + std::to_string(n)});
        gets.push_back({"GET", k});
    }
    auto set_replies = r.pipeline(sets);
    ASSERT_EQ(set_replies.size(), 30u);
    auto replies = r.pipeline(gets);
    ASSERT_EQ(replies.size(), 30u);
    for (int n = 0; n < 30; ++n) EXPECT_EQ(replies[n].str(), "value-" + std::to_string(n));
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(fc.node(i).count("GET"), 10u);
}

TEST(RedisCluster, KeylessCommandRidesOnThePreviousCommandsNode) {
    FakeCluster fc;
    Redis r(fc.options());
    std::string on2 = fc.key_on(2, "barrier");
    // In a pipeline: PING after a write to node 2 goes to node 2.
    auto rep = r.pipeline({{"SET", on2, "x"}, {"PING"}, {"SET", fc.key_on(1, "b"), "y"}, {"PING"}});
    EXPECT_EQ(rep[1].str(), "PONG");
    EXPECT_EQ(fc.node(2).count("PING"), 1u);
    EXPECT_EQ(fc.node(1).count("PING"), 1u);
    EXPECT_EQ(fc.node(0).count("PING"), 0u);
    // Alone: the node of this object's previous command.
    r.command({"SET", on2, "z"});
    r.command({"PING"});
    EXPECT_EQ(fc.node(2).count("PING"), 2u);
    // A barrier after writes on two nodes: one PING on each.
    r.ping_nodes_of({fc.key_on(0, "g1"), fc.key_on(1, "g2"), fc.key_on(1, "g3")});
    EXPECT_EQ(fc.node(0).count("PING"), 1u);
    EXPECT_EQ(fc.node(1).count("PING"), 2u);
    EXPECT_EQ(fc.node(2).count("PING"), 2u);
    // WAIT of a key: on that key's master.
    EXPECT_EQ(r.wait_replicas(fc.key_on(1, "w"), 1, 10).integer(), 1);
    EXPECT_EQ(fc.node(1).count("WAIT"), 1u);
}

TEST(RedisCluster, MovedRefreshesTheMapAndRetriesAtTheNewOwner) {
    FakeCluster fc;
    Redis r(fc.options());
    std::string k = fc.key_on(0, "moved");
    r.command({"PING"});  // the first map
    fc.move_slot(redis_slot::key_slot(k), 1);
    r.command({"SET", k, "after"});
    EXPECT_EQ(fc.value(1, k), "after");
    EXPECT_EQ(fc.node(0).count("SET"), 1u) << "asked the old owner once, got MOVED";
    EXPECT_GE(fc.node(1).count("CLUSTER") + fc.node(0).count("CLUSTER"), 2u) << "map refreshed";
    fc.node(0).clear_received();
    EXPECT_EQ(r.command({"GET", k}).str(), "after");
    EXPECT_EQ(fc.node(0).count("GET"), 0u) << "the refreshed map sends it to the new owner";
}

TEST(RedisCluster, AskIsFollowedWithAskingWithoutChangingTheMap) {
    FakeCluster fc;
    Redis r(fc.options());
    std::string k = fc.key_on(0, "ask");
    int slot = redis_slot::key_slot(k);
    r.command({"PING"});
    fc.migrate(slot, 2);
    auto clusters_before = fc.node(0).count("CLUSTER");
    r.command({"SET", k, "imported"});
    EXPECT_EQ(fc.value(2, k), "imported") << "written on the importing node";
    auto got = fc.node(2).received();
    ASSERT_GE(got.size(), 2u);
    EXPECT_EQ(got[got.size() - 2][0], "ASKING");
    EXPECT_EQ(got.back()[0], "SET");
    EXPECT_EQ(fc.node(0).count("CLUSTER"), clusters_before) << "ASK does not refresh the map";
    // The map still names node 0: the next command asks it first again.
    fc.node(0).clear_received();
    EXPECT_EQ(r.command({"GET", k}).str(), "imported");
    EXPECT_EQ(fc.node(0).count("GET"), 1u);
    // In a pipeline too.
    auto rep = r.pipeline({{"GET", k}, {"GET", fc.key_on(1, "other")}});
    EXPECT_EQ(rep[0].str(), "imported");
    EXPECT_TRUE(rep[1].is_nil());
}

TEST(RedisCluster, NoscriptLoadsTheScriptOnThatNodeOnly) {
    script_dir();
    FakeCluster fc;
    Redis r(fc.options());
    EXPECT_EQ(r.eval_script("cluster_probe", {fc.key_on(1, "s")}, {}).integer(), 1);
    EXPECT_EQ(fc.node(1).count("SCRIPT"), 1u);
    EXPECT_EQ(fc.node(0).count("SCRIPT"), 0u);
    EXPECT_EQ(r.eval_script("cluster_probe", {fc.key_on(1, "s2")}, {}).integer(), 1);
    EXPECT_EQ(fc.node(1).count("SCRIPT"), 1u) << "loaded once per node";
    EXPECT_EQ(r.eval_script("cluster_probe", {fc.key_on(2, "s")}, {}).integer(), 2);
    EXPECT_EQ(fc.node(2).count("SCRIPT"), 1u);
    fc.flush_scripts(1);
    EXPECT_EQ(r.eval_script("cluster_probe", {fc.key_on(1, "s3")}, {}).integer(), 1);
    EXPECT_EQ(fc.node(1).count("SCRIPT"), 2u);
    // Keys of two slots: refused (CROSSSLOT in a real cluster).
    EXPECT_THROW(r.eval_script("cluster_probe", {fc.key_on(0, "a"), fc.key_on(1, "b")}, {}),
                 std::logic_error);
}

TEST(RedisCluster, ADeadMasterIsReplacedAfterAMapRefresh) {
    FakeCluster fc;
    RedisOptions o = fc.options();
    o.cluster = {fc.node(1).address(), fc.node(0).address()};
    Redis r(o);
    std::string k = fc.key_on(0, "dead");
    r.command({"SET", k, "before"});
    // Node 0 dies; node 2 takes its slots over (a promoted replica).
    fc.node(0).stop();
    fc.move_node_slots(0, 2);
    int failures = 0;
    bool served = false;
    for (int attempt = 0; attempt < 100 && !served; ++attempt) {
        try {
            r.command({"SET", k, "after"});
            served = true;
        } catch (const Error& e) {
            ASSERT_EQ(e.code(), ErrorCode::kUnavailable);
            ++failures;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    ASSERT_TRUE(served) << "never recovered from the dead master";
    EXPECT_EQ(fc.value(2, k), "after");
    EXPECT_GE(failures, 1) << "the call that found the master dead is an outage (503)";
}

TEST(RedisCluster, RedirectionsAreBounded) {
    FakeCluster fc;
    Redis r(fc.options());
    std::string k = fc.key_on(0, "loop");
    fc.ping_pong(redis_slot::key_slot(k));
    try {
        r.command({"GET", k});
        FAIL() << "expected Error(kUnavailable)";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    }
    auto gets = fc.node(0).count("GET") + fc.node(1).count("GET");
    EXPECT_LE(gets, 10u);
    EXPECT_GE(gets, 2u);
}

TEST(RedisCluster, CrossSlotDeletesAreSplitAndFanOutsReachEveryMaster) {
    FakeCluster fc;
    Redis r(fc.options());
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < 3; ++i) {
        keys.push_back(fc.key_on(i, "del"));
        r.command({"SET", keys.back(), "x"});
    }
    EXPECT_EQ(r.command({"UNLINK", keys[0], keys[1], keys[2], "absent"}).integer(), 3);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(fc.value(i, keys[i]), "");
    for (std::size_t i = 0; i < 3; ++i) r.command({"SET", fc.key_on(i, "scan"), "x"});
    std::set<std::string> scanned;
    r.scan_all("*", 100, [&](const Reply& page) {
        for (std::size_t i = 0; i < page.size(); ++i) scanned.insert(std::string(page.at(i).str()));
    });
    EXPECT_EQ(scanned.size(), 3u);
    EXPECT_EQ(r.on_every_master({"SCRIPT", "FLUSH"}).size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(fc.node(i).count("SCRIPT"), 1u);
}

}  // namespace

// The Redis Cluster router behind class Redis (private to libbazaar's Redis
// layer): the one place that knows which node serves which slot.
//
// It holds the slot map (ClusterSlotMap, from CLUSTER SLOTS asked of any
// seed or known node) and one lazily opened RedisConnection per node, all
// owned by the one per-thread Redis object. Rules (docs/redis-cluster.md "Redis Cluster
// client"):
//  - a command goes to the master of its keys' slot (redis_command_keys);
//    a keyless command to the node of the previous command (in a pipeline:
//    of the command before it), or the first master;
//  - a pipeline is split per node, every node's share is written before any
//    reply is read, and replies come back in the caller's order;
//  - MOVED: the map is refreshed (from the named node first) and the
//    command retried at the new owner; ASK: ASKING + the command at the
//    named node, the map unchanged; at most kMaxRedirects of them;
//  - TRYAGAIN (a multi-key command during a slot migration): retried after
//    a short pause, at most kMaxTryAgain times, then 503; CLUSTERDOWN and
//    READONLY (a master that became a replica): 503, and the map is stale;
//  - a connection error or timeout marks the map stale: the next call asks
//    any reachable node (the one named by MOVED, known nodes, seeds) for a
//    fresh map, at most once per kRefreshInterval.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/redis.hpp"
#include "bazaar/redis_cluster_map.hpp"

namespace bazaar {

// Shared by redis.cpp and redis_cluster.cpp.
// Commands a second run leaves unchanged (a resend after a broken connection).
bool is_read_only_command(const RedisArgs& args);
bool is_read_only_pipeline(const std::vector<RedisArgs>& commands);
const std::string& script_source(std::string_view name);
void scan_node(RedisConnection& conn, std::string_view match, std::size_t count,
               const std::function<void(const Reply& keys)>& page);

class RedisCluster {
  public:
    static constexpr int kMaxRedirects = 5;
    static constexpr int kMaxTryAgain = 3;
    static constexpr auto kTryAgainPause = std::chrono::milliseconds(20);
    static constexpr auto kRefreshInterval = std::chrono::milliseconds(100);

    explicit RedisCluster(const RedisOptions& opts);

    Reply command(const RedisArgs& args);
    Reply blocking_command(const RedisArgs& args, int extra_ms);
    std::vector<Reply> pipeline(const std::vector<RedisArgs>& commands);
    Reply eval_script(const RedisArgs& evalsha, const std::string& source);
    // `args` (keyless, e.g. WAIT) on the master of `key`'s slot; the socket
    // timeout raised by `extra_ms`.
    Reply command_on_slot_of(std::string_view key, const RedisArgs& args, int extra_ms = 0);
    std::vector<Reply> on_every_master(const RedisArgs& args);
    void ping_nodes_of(const std::vector<std::string>& keys);
    void scan_all(std::string_view match, std::size_t count,
                  const std::function<void(const Reply& keys)>& page);

    bool connected() const;
    void disconnect();

    // Tests: the master currently serving `slot` ("host:port", "" if none).
    std::string master_of(int slot);

  private:
    // One command with redirections; error replies are returned (the
    // caller decides), outages and connection errors thrown. `node` is the
    // node to start with and, on return, the node that answered.
    Reply run(const RedisArgs& args, std::string& node, int extra_ms = 0);
    RedisConnection& conn(const std::string& node);
    const ClusterSlotMap& map();
    void refresh(const std::string& first_choice = {});
    std::string node_for_slot(int slot);
    std::string node_for(const RedisArgs& args);
    void connection_lost(const std::string& node);
    void note_outage_reply(std::string_view err);

    int timeout_ms_;
    std::vector<RedisNodeAddress> seeds_;
    std::optional<ClusterSlotMap> map_;
    bool stale_ = true;
    std::chrono::steady_clock::time_point next_refresh_{};
    std::map<std::string, std::unique_ptr<RedisConnection>> conns_;  // "host:port" → connection
    std::string last_node_;  // the node of the previous command (keyless commands go there)
};

}  // namespace bazaar

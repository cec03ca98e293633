// The Redis servers bazaar-ws talks to: one RedisLink (subscriber +
// command connection, heartbeat) per server.
//
// Single mode (REDIS_HOST:REDIS_PORT): one link; every channel and key is
// served by it.
//
// Cluster mode (REDIS_CLUSTER seeds): one link per master, so a room's
// channel is SSUBSCRIBEd on the master owning its slot and no node carries
// every message. The slot map (`CLUSTER SLOTS`, ClusterSlotMap) is fetched
// at start, then again whenever the owner asks (a subscription lost to a
// moved slot or refused with MOVED), a link went down, and every 10 s (1 s
// while a link is down): masters that appeared get a link, masters that are
// gone (failover, resharding) lose theirs after on_down told the owner,
// whose rooms then subscribe again on their slot's new master
// (on_map_changed). The fetch is a short blocking exchange with one node
// (known masters first, then the seeds), at most once a second, bounded by
// min(REDIS_TIMEOUT_MS, 300 ms) per node tried.
//
// Each link's heartbeat channel is one of its own slots (heartbeat_channel),
// so the heartbeat proves that node's subscriber and command connections.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/redis_cluster_map.hpp"
#include "node_plan.hpp"
#include "redis_link.hpp"

namespace bazaar::ws {

class RedisNodes {
  public:
    struct Handlers {
        std::function<void(RedisLink&)> on_up;
        std::function<void(RedisLink&)> on_down;  // also before a link is dropped
        std::function<void(RedisLink&, const SubEvent&)> on_pubsub;
        std::function<void()> on_map_changed;  // after each refresh
    };
    struct Options {
        std::string host;
        int port = 0;
        std::vector<std::string> cluster;  // non-empty: cluster mode
        int timeout_ms = 500;
        std::string heartbeat_prefix;  // unique per process
    };

    RedisNodes(uv_loop_t* loop, Options opts, Handlers handlers);
    ~RedisNodes();
    RedisNodes(const RedisNodes&) = delete;
    RedisNodes& operator=(const RedisNodes&) = delete;

    void start();
    void stop();
    bool cluster() const { return !opts_.cluster.empty(); }

    // The link serving `key_or_channel`'s slot (nullptr: none known yet).
    RedisLink* link_for(std::string_view key_or_channel);
    // Whether the node of `key_or_channel` is reachable now.
    bool up_for(std::string_view key_or_channel) {
        RedisLink* l = link_for(key_or_channel);
        return l && l->up();
    }
    // A command on the node of `key`; false when that node's link is down.
    bool command(std::string_view key, const std::vector<std::string>& args,
                 RedisLink::ReplyFn done);
    // Asks for a fresh slot map soon (rate-limited); on_map_changed follows.
    void refresh();
    std::size_t links() const { return links_.size(); }

  private:
    static void on_refresh_timer(uv_timer_t* t);
    void do_refresh();
    std::optional<ClusterSlotMap> fetch_map();
    void apply(const ClusterSlotMap& map);
    std::unique_ptr<RedisLink> make_link(const std::string& host, int port, std::string heartbeat);
    void drop(std::unique_ptr<RedisLink> link);
    void schedule(std::uint64_t delay_ms);

    uv_loop_t* loop_;
    Options opts_;
    Handlers handlers_;
    std::vector<std::unique_ptr<RedisLink>> links_;
    std::vector<std::unique_ptr<RedisLink>> closing_;  // stopped, handles closing
    std::optional<ClusterSlotMap> map_;
    uv_timer_t timer_{};
    bool started_ = false;
    std::uint64_t last_refresh_ms_ = 0;
};

}  // namespace bazaar::ws

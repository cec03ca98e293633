// Which node serves which slot of a Redis Cluster: the answer of
// `CLUSTER SLOTS`, parsed once into a slot → master table.
//
// The cluster client (redis.cpp) and bazaar-ws's sharded subscriptions both
// route by it; neither parses CLUSTER SLOTS itself. Replicas are kept only
// as addresses to ask for a fresh map when a master is gone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/redis.hpp"

namespace bazaar {

struct RedisNodeAddress {
    std::string host;
    int port = 0;

    std::string str() const { return host + ":" + std::to_string(port); }
    bool operator==(const RedisNodeAddress&) const = default;
};

// "host:port" → address; the port must be 1..65535. Throws
// std::invalid_argument otherwise (configuration: REDIS_CLUSTER).
RedisNodeAddress parse_node_address(std::string_view text);

class ClusterSlotMap {
  public:
    // Parses a `CLUSTER SLOTS` reply. A node announced without an address
    // (Redis sends "" when it does not know its own) is `asked_host`, the host
    // the reply came from. Throws RedisError on a malformed reply.
    static ClusterSlotMap parse(const Reply& reply, std::string_view asked_host);

    // The master serving `slot`, or nullptr when no node does (a slot the
    // cluster lost; the caller treats it as an outage).
    const RedisNodeAddress* master_of(int slot) const;
    // Every distinct master, in order of first appearance.
    const std::vector<RedisNodeAddress>& masters() const { return masters_; }
    // Every node the reply named, masters first: where to ask for a new map.
    const std::vector<RedisNodeAddress>& nodes() const { return nodes_; }
    bool covers_every_slot() const;

  private:
    std::vector<std::int16_t> owner_;  // slot → index into masters_, -1 = none
    std::vector<RedisNodeAddress> masters_;
    std::vector<RedisNodeAddress> nodes_;
};

// CLUSTER SLOTS asked of each of `candidates` in turn (each once), on a
// short-lived blocking connection bounded by `timeout_ms` per node: the map of
// the first that answers with at least one master, or nullopt. For the
// connections that route without class Redis (bazaar-ws's subscriber links,
// the near cache's listeners); class Redis keeps its own connections.
std::optional<ClusterSlotMap> fetch_cluster_slots(const std::vector<RedisNodeAddress>& candidates,
                                                  int timeout_ms);

}  // namespace bazaar

// Pure decisions of bazaar-ws's cluster mode (redis_nodes.hpp), apart so
// the unit tests reach them without a loop or a server.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/redis_cluster_map.hpp"

namespace bazaar::ws {

// "<prefix>{hb<n>}" for the smallest n whose slot `master` serves in `map`
// (nullopt when it serves none): a link's heartbeat channel, so that the
// heartbeat's SPUBLISH and SSUBSCRIBE both go to that node.
std::optional<std::string> heartbeat_channel(const ClusterSlotMap& map,
                                             const RedisNodeAddress& master,
                                             std::string_view prefix);

// The links there are: node and heartbeat channel.
struct LinkState {
    RedisNodeAddress node;
    std::string heartbeat;
};
// What a new slot map asks of them: drop the links whose node is no longer
// the master of their heartbeat's slot (a failed or demoted master, a
// migrated heartbeat slot), add one for every master left without a link.
struct LinkPlan {
    std::vector<std::size_t> drop;  // indexes into `current`
    std::vector<RedisNodeAddress> add;
};
LinkPlan plan_links(const ClusterSlotMap& map, const std::vector<LinkState>& current);

}  // namespace bazaar::ws

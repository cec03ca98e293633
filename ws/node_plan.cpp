#include "node_plan.hpp"

#include <algorithm>

#include "bazaar/redis_slot.hpp"

namespace bazaar::ws {

std::optional<std::string> heartbeat_channel(const ClusterSlotMap& map,
                                             const RedisNodeAddress& master,
                                             std::string_view prefix) {
    // Tags {hb0}, {hb1}, ... spread evenly over the 16384 slots: a master
    // with any share of them is found within a few thousand tries; the bound
    // only stops the search for a master that serves almost nothing.
    for (int n = 0; n < 1000000; ++n) {
        std::string channel = std::string(prefix) + "{hb" + std::to_string(n) + "}";
        const RedisNodeAddress* owner = map.master_of(redis_slot::key_slot(channel));
        if (owner && *owner == master) return channel;
    }
    return std::nullopt;
}

LinkPlan plan_links(const ClusterSlotMap& map, const std::vector<LinkState>& current) {
    LinkPlan plan;
    std::vector<RedisNodeAddress> kept;
    for (std::size_t i = 0; i < current.size(); ++i) {
        const RedisNodeAddress* owner = map.master_of(redis_slot::key_slot(current[i].heartbeat));
        if (owner && *owner == current[i].node &&
            std::find(kept.begin(), kept.end(), current[i].node) == kept.end())
            kept.push_back(current[i].node);
        else
            plan.drop.push_back(i);
    }
    for (const auto& m : map.masters())
        if (std::find(kept.begin(), kept.end(), m) == kept.end()) plan.add.push_back(m);
    return plan;
}

}  // namespace bazaar::ws

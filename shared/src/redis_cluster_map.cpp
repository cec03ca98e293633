#include "bazaar/redis_cluster_map.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "bazaar/log.hpp"
#include "bazaar/redis_slot.hpp"

namespace bazaar {

RedisNodeAddress parse_node_address(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        throw std::invalid_argument("expected host:port, got '" + std::string(text) + "'");
    int port = 0;
    auto digits = text.substr(colon + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port < 1 || port > 65535)
        throw std::invalid_argument("bad port in '" + std::string(text) + "'");
    return {std::string(text.substr(0, colon)), port};
}

namespace {

[[noreturn]] void malformed(const std::string& why) {
    throw RedisError("malformed CLUSTER SLOTS reply: " + why);
}

RedisNodeAddress node_of(const Reply& entry, std::string_view asked_host) {
    if (!entry.is_array() || entry.size() < 2) malformed("node entry");
    Reply host = entry.at(0), port = entry.at(1);
    if (!host.is_string() || !port.is_integer()) malformed("node address");
    if (port.integer() < 1 || port.integer() > 65535) malformed("node port");
    // "" (or "?" in older versions): the node does not know its own address.
    std::string h(host.str());
    if (h.empty() || h == "?") h = std::string(asked_host);
    return {std::move(h), static_cast<int>(port.integer())};
}

std::size_t index_of(std::vector<RedisNodeAddress>& list, const RedisNodeAddress& a) {
    auto it = std::find(list.begin(), list.end(), a);
    if (it != list.end()) return static_cast<std::size_t>(it - list.begin());
    list.push_back(a);
    return list.size() - 1;
}

}  // namespace

ClusterSlotMap ClusterSlotMap::parse(const Reply& reply, std::string_view asked_host) {
    if (!reply.is_array()) malformed("not an array");
    ClusterSlotMap map;
    map.owner_.assign(redis_slot::kSlots, -1);
    std::vector<RedisNodeAddress> replicas;
    for (std::size_t i = 0; i < reply.size(); ++i) {
        Reply range = reply.at(i);
        if (!range.is_array() || range.size() < 3) malformed("slot range");
        Reply first = range.at(0), last = range.at(1);
        if (!first.is_integer() || !last.is_integer()) malformed("slot bounds");
        auto lo = first.integer(), hi = last.integer();
        if (lo < 0 || hi >= redis_slot::kSlots || lo > hi) malformed("slot bounds out of range");
        auto master = index_of(map.masters_, node_of(range.at(2), asked_host));
        if (master >= static_cast<std::size_t>(redis_slot::kSlots)) malformed("too many masters");
        for (auto s = lo; s <= hi; ++s)
            map.owner_[static_cast<std::size_t>(s)] = static_cast<std::int16_t>(master);
        for (std::size_t r = 3; r < range.size(); ++r)
            index_of(replicas, node_of(range.at(r), asked_host));
    }
    map.nodes_ = map.masters_;
    for (const auto& r : replicas) index_of(map.nodes_, r);
    return map;
}

const RedisNodeAddress* ClusterSlotMap::master_of(int slot) const {
    if (slot < 0 || slot >= static_cast<int>(owner_.size())) return nullptr;
    auto i = owner_[static_cast<std::size_t>(slot)];
    return i < 0 ? nullptr : &masters_[static_cast<std::size_t>(i)];
}

bool ClusterSlotMap::covers_every_slot() const {
    return !owner_.empty() &&
           std::none_of(owner_.begin(), owner_.end(), [](auto i) { return i < 0; });
}

std::optional<ClusterSlotMap> fetch_cluster_slots(const std::vector<RedisNodeAddress>& candidates,
                                                  int timeout_ms) {
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    std::vector<RedisNodeAddress> tried;
    for (const auto& node : candidates) {
        if (std::find(tried.begin(), tried.end(), node) != tried.end()) continue;
        tried.push_back(node);
        redisContext* c = redisConnectWithTimeout(node.host.c_str(), node.port, tv);
        if (!c || c->err) {
            if (c) redisFree(c);
            continue;
        }
        redisSetTimeout(c, tv);
        auto* raw = static_cast<redisReply*>(redisCommand(c, "CLUSTER SLOTS"));
        redisFree(c);
        if (!raw) continue;
        try {
            Reply reply(raw);  // owns raw
            if (reply.is_error()) continue;
            auto map = ClusterSlotMap::parse(reply, node.host);
            if (!map.masters().empty()) return map;
        } catch (const std::exception& e) {
            log::warn("unusable CLUSTER SLOTS reply", {{"node", node.str()}, {"error", e.what()}});
        }
    }
    return std::nullopt;
}

}  // namespace bazaar

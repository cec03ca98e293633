#include "redis_cluster.hpp"

#include <hiredis.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/redis_command_keys.hpp"
#include "bazaar/redis_slot.hpp"

namespace bazaar {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381" → "127.0.0.1:6381".
// Redis 7 sends ":6381" when the node does not know its own address: the
// host is then the one of the node that answered (`from`).
std::string redirect_target(std::string_view err, const std::string& from) {
    auto space = err.rfind(' ');
    if (space == std::string_view::npos)
        throw std::invalid_argument("malformed redirection: " + std::string(err));
    std::string target(err.substr(space + 1));
    if (!target.empty() && target[0] == ':') target = parse_node_address(from).host + target;
    parse_node_address(target);  // throws std::invalid_argument when malformed
    return target;
}

Reply integer_reply(long long value) {
    // freeReplyObject() frees an integer reply with free().
    auto* r = static_cast<redisReply*>(std::calloc(1, sizeof(redisReply)));
    if (!r) throw std::bad_alloc();
    r->type = REDIS_REPLY_INTEGER;
    r->integer = value;
    return Reply(r);
}

}  // namespace

RedisCluster::RedisCluster(const RedisOptions& opts) : timeout_ms_(opts.timeout_ms) {
    for (const auto& s : opts.cluster) seeds_.push_back(parse_node_address(s));
}

RedisConnection& RedisCluster::conn(const std::string& node) {
    auto it = conns_.find(node);
    if (it != conns_.end()) return *it->second;
    auto address = parse_node_address(node);
    auto c = std::make_unique<RedisConnection>(address.host, address.port, "", timeout_ms_);
    return *conns_.emplace(node, std::move(c)).first->second;
}

bool RedisCluster::connected() const {
    return std::any_of(conns_.begin(), conns_.end(),
                       [](const auto& kv) { return kv.second->connected(); });
}

void RedisCluster::disconnect() {
    for (auto& [node, c] : conns_) c->disconnect();
}

void RedisCluster::connection_lost(const std::string& node) {
    stale_ = true;
    if (last_node_ == node) last_node_.clear();
}

// Asks `first_choice`, then every node of the current map, then the seeds,
// for CLUSTER SLOTS; the first complete answer becomes the map.
void RedisCluster::refresh(const std::string& first_choice) {
    next_refresh_ = std::chrono::steady_clock::now() + kRefreshInterval;
    std::vector<std::string> candidates;
    auto add = [&](const std::string& n) {
        if (!n.empty() && std::find(candidates.begin(), candidates.end(), n) == candidates.end())
            candidates.push_back(n);
    };
    add(first_choice);
    // Nodes this object is connected to first: a node cut off by a
    // partition would cost a connect timeout before the others are asked.
    for (const auto& [n, c] : conns_)
        if (c->connected()) add(n);
    if (map_)
        for (const auto& n : map_->nodes()) add(n.str());
    for (const auto& n : seeds_) add(n.str());
    for (const auto& node : candidates) {
        try {
            RedisConnection& c = conn(node);
            Reply r = c.exchange(RedisArgs{"CLUSTER", "SLOTS"});
            if (r.is_error()) continue;
            auto m = ClusterSlotMap::parse(r, parse_node_address(node).host);
            if (m.masters().empty()) continue;
            map_ = std::move(m);
            stale_ = false;
            return;
        } catch (const Error&) {
            // unreachable: try the next one
        } catch (const RedisError&) {
        }
    }
    log::warn("redis cluster: no node answered CLUSTER SLOTS",
              {{"asked", static_cast<std::int64_t>(candidates.size())}});
    throw Error::unavailable("redis");
}

const ClusterSlotMap& RedisCluster::map() {
    if (!map_ || (stale_ && std::chrono::steady_clock::now() >= next_refresh_)) refresh();
    return *map_;
}

std::string RedisCluster::node_for_slot(int slot) {
    const RedisNodeAddress* a = map().master_of(slot);
    if (!a) {
        stale_ = true;  // a slot no master serves: maybe a failover in progress
        throw Error::unavailable("redis");
    }
    return a->str();
}

std::string RedisCluster::node_for(const RedisArgs& args) {
    int slot = redis_keys::command_slot(args);
    if (slot != redis_keys::kNoSlot) return node_for_slot(slot);
    const auto& masters = map().masters();
    if (!last_node_.empty() &&
        std::any_of(masters.begin(), masters.end(),
                    [&](const RedisNodeAddress& m) { return m.str() == last_node_; }))
        return last_node_;
    return masters.front().str();
}

std::string RedisCluster::master_of(int slot) {
    const RedisNodeAddress* a = map().master_of(slot);
    return a ? a->str() : std::string();
}

Reply RedisCluster::run(const RedisArgs& args, std::string& node, int extra_ms) {
    bool asking = false;
    int redirects = 0;
    int tryagain = 0;
    for (;;) {
        RedisConnection& c = conn(node);
        Reply r;
        try {
            if (!asking && extra_ms == 0) {
                r = c.exchange(args);
            } else {
                c.ensure();
                if (extra_ms) c.set_timeout(c.timeout_ms() + extra_ms);
                if (asking) c.append(RedisArgs{"ASKING"});
                c.append(args);
                if (asking) c.read_one();  // +OK
                r = c.read_one();
                if (extra_ms) c.set_timeout(c.timeout_ms());
            }
        } catch (const Error& e) {
            if (e.code() == ErrorCode::kUnavailable && !c.connected()) connection_lost(node);
            throw;
        }
        if (!asking) last_node_ = node;
        if (!r.is_error()) return r;
        std::string_view err = r.str();
        bool moved = starts_with(err, "MOVED ");
        if (moved || starts_with(err, "ASK ")) {
            if (++redirects > kMaxRedirects) {
                stale_ = true;
                log::warn("redis cluster: too many redirections",
                          {{"command", args.parts()[0]}, {"last", std::string(err)}});
                throw Error::unavailable("redis");
            }
            std::string target;
            try {
                target = redirect_target(err, node);
            } catch (const std::invalid_argument&) {
                stale_ = true;
                throw Error::unavailable("redis");
            }
            if (moved) {
                try {
                    refresh(target);
                } catch (const Error&) {
                    stale_ = true;
                }
            }
            node = target;
            asking = !moved;
            continue;
        }
        if (starts_with(err, "TRYAGAIN") && ++tryagain <= kMaxTryAgain) {
            std::this_thread::sleep_for(kTryAgainPause);
            continue;
        }
        note_outage_reply(err);
        return r;
    }
}

// A master that turned replica (READONLY: a failover this map has not seen)
// or a cluster without quorum: the next call asks for a fresh map. The
// reply itself is an outage for the caller (503).
void RedisCluster::note_outage_reply(std::string_view err) {
    if (starts_with(err, "READONLY") || starts_with(err, "CLUSTERDOWN")) stale_ = true;
}

Reply RedisCluster::command(const RedisArgs& args) {
    if (redis_keys::is_summing_multikey(args)) {
        // DEL/UNLINK/EXISTS/TOUCH of keys in several slots: one command per
        // slot, pipelined, replies added up.
        auto keys = redis_keys::keys_of(args);
        std::vector<int> slots;
        std::vector<RedisArgs> split;
        for (auto k : keys) {
            int s = redis_slot::key_slot(k);
            auto it = std::find(slots.begin(), slots.end(), s);
            if (it == slots.end()) {
                slots.push_back(s);
                split.push_back(RedisArgs{args.parts()[0]});
                it = slots.end() - 1;
            }
            split[static_cast<std::size_t>(it - slots.begin())].add(k);
        }
        if (split.size() > 1) {
            long long sum = 0;
            for (const Reply& r : pipeline(split)) {
                if (r.is_error()) throw_reply_error(r);
                sum += r.integer();
            }
            return integer_reply(sum);
        }
    }
    std::string node = node_for(args);
    Reply r = run(args, node);
    if (r.is_error()) throw_reply_error(r);
    return r;
}

Reply RedisCluster::blocking_command(const RedisArgs& args, int extra_ms) {
    std::string node = node_for(args);
    Reply r = run(args, node, extra_ms);
    if (r.is_error()) throw_reply_error(r);
    return r;
}

Reply RedisCluster::command_on_slot_of(std::string_view key, const RedisArgs& args, int extra_ms) {
    std::string node = node_for_slot(redis_slot::key_slot(key));
    Reply r = run(args, node, extra_ms);
    if (r.is_error()) throw_reply_error(r);
    return r;
}

Reply RedisCluster::eval_script(const RedisArgs& evalsha, const std::string& source) {
    std::string node = node_for(evalsha);
    Reply r = run(evalsha, node);
    if (r.is_error() && is_outage_reply(r.str())) throw Error::unavailable("redis");
    if (is_noscript(r)) {
        // This node's script cache lacks it (a restart, a failover to a
        // replica that never loaded it, SCRIPT FLUSH): load it there.
        RedisConnection& c = conn(node);
        try {
            c.command(RedisArgs{"SCRIPT", "LOAD", source});
        } catch (const Error& e) {
            if (!c.connected()) connection_lost(node);
            throw;
        }
        r = run(evalsha, node);
    }
    if (r.is_error()) throw_reply_error(r);
    return r;
}

std::vector<Reply> RedisCluster::pipeline(const std::vector<RedisArgs>& commands) {
    std::vector<Reply> out(commands.size());
    if (commands.empty()) return out;
    struct Group {
        std::string node;
        std::vector<std::size_t> idx;
        RedisConnection* c = nullptr;
        bool reused = false;
        bool sent = false;
        bool done = false;
    };
    std::vector<Group> groups;
    std::vector<std::size_t> group_of(commands.size());
    std::string prev;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        int slot = redis_keys::command_slot(commands[i]);
        // A keyless command rides on the node of the command before it, so
        // that e.g. a PING or WAIT after a write reaches the written node.
        std::string node = slot != redis_keys::kNoSlot ? node_for_slot(slot)
                           : prev.empty()              ? node_for(commands[i])
                                                       : prev;
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const Group& g) { return g.node == node; });
        if (it == groups.end()) {
            groups.push_back(Group{node, {}, nullptr, false, false, false});
            it = groups.end() - 1;
        }
        it->idx.push_back(i);
        group_of[i] = static_cast<std::size_t>(it - groups.begin());
        prev = std::move(node);
    }
    auto send = [&](Group& g) {
        g.c->ensure();
        for (auto i : g.idx) g.c->append(commands[i]);
        g.c->flush();
    };
    auto receive = [&](Group& g) {
        for (auto i : g.idx) out[i] = g.c->read_one();
    };
    // Every node's share is written before any reply is read: one round
    // trip per node, the nodes working in parallel.
    for (auto& g : groups) {
        g.c = &conn(g.node);
        g.reused = g.c->connected();
        try {
            send(g);
            g.sent = true;
        } catch (const Error&) {
        }
    }
    for (auto& g : groups) {
        if (!g.sent) continue;
        try {
            receive(g);
            g.done = true;
        } catch (const Error&) {
        }
    }
    bool failed = false;
    for (auto& g : groups) {
        if (g.done) continue;
        std::vector<RedisArgs> share;
        for (auto i : g.idx) share.push_back(commands[i]);
        if (g.reused && g.c->closed_by_peer() &&
            (g.c->failed_unsent() || is_read_only_pipeline(share))) {
            // The stale kept connection of redis.cpp's retry_stale: once
            // more, when the node provably did not run the first send.
            g.c->clear_backoff();
            try {
                send(g);
                receive(g);
                g.done = true;
                continue;
            } catch (const Error&) {
            }
        }
        connection_lost(g.node);
        failed = true;
    }
    if (failed) throw Error::unavailable("redis");
    last_node_ = groups[group_of.back()].node;
    // Redirected commands (a slot moved or migrating) were not run: run
    // them again one by one, in order, following the redirection.
    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (!out[i].is_error()) continue;
        std::string_view err = out[i].str();
        if (starts_with(err, "MOVED ") || starts_with(err, "ASK ") ||
            starts_with(err, "TRYAGAIN")) {
            std::string node = groups[group_of[i]].node;
            out[i] = run(commands[i], node);
        }
    }
    for (const auto& r : out) {
        if (r.is_error() && is_outage_reply(r.str())) {
            note_outage_reply(r.str());
            throw Error::unavailable("redis");
        }
    }
    return out;
}

void RedisCluster::ping_nodes_of(const std::vector<std::string>& keys) {
    std::vector<std::string> nodes;
    for (const auto& k : keys) {
        std::string n = node_for_slot(redis_slot::key_slot(k));
        if (std::find(nodes.begin(), nodes.end(), n) == nodes.end()) nodes.push_back(std::move(n));
    }
    for (auto& n : nodes) {
        Reply r = run(RedisArgs{"PING"}, n);
        if (r.is_error()) throw_reply_error(r);
    }
}

std::vector<Reply> RedisCluster::on_every_master(const RedisArgs& args) {
    std::vector<RedisNodeAddress> masters = map().masters();
    std::vector<Reply> out;
    for (const auto& m : masters) {
        RedisConnection& c = conn(m.str());
        try {
            out.push_back(c.command(args));
        } catch (const Error&) {
            if (!c.connected()) connection_lost(m.str());
            throw;
        }
    }
    return out;
}

void RedisCluster::scan_all(std::string_view match, std::size_t count,
                            const std::function<void(const Reply& keys)>& page) {
    std::vector<RedisNodeAddress> masters = map().masters();
    for (const auto& m : masters) {
        RedisConnection& c = conn(m.str());
        try {
            scan_node(c, match, count, page);
        } catch (const Error&) {
            if (!c.connected()) connection_lost(m.str());
            throw;
        }
    }
}

}  // namespace bazaar

#include "redis_nodes.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "bazaar/log.hpp"
#include "bazaar/redis_slot.hpp"

namespace bazaar::ws {

namespace {
constexpr std::uint64_t kMinRefreshGapMs = 1000;
constexpr std::uint64_t kHealthyRefreshMs = 10000;

bool same(const RedisLink& l, const RedisNodeAddress& a) {
    return l.host() == a.host && l.port() == a.port;
}
}  // namespace

RedisNodes::RedisNodes(uv_loop_t* loop, Options opts, Handlers handlers)
    : loop_(loop), opts_(std::move(opts)), handlers_(std::move(handlers)) {
    uv_timer_init(loop_, &timer_);
    timer_.data = this;
}

RedisNodes::~RedisNodes() {
    stop();
}

std::unique_ptr<RedisLink> RedisNodes::make_link(const std::string& host, int port,
                                                 std::string heartbeat) {
    auto link = std::make_unique<RedisLink>(loop_, host, port, opts_.timeout_ms,
                                            std::move(heartbeat), RedisLink::Handlers{});
    RedisLink* l = link.get();
    link->set_handlers({[this, l] {
                            if (handlers_.on_up) handlers_.on_up(*l);
                        },
                        [this, l] {
                            if (handlers_.on_down) handlers_.on_down(*l);
                            if (cluster()) refresh();  // a failover, perhaps
                        },
                        [this, l](const SubEvent& ev) {
                            if (handlers_.on_pubsub) handlers_.on_pubsub(*l, ev);
                        }});
    return link;
}

void RedisNodes::start() {
    started_ = true;
    if (!cluster()) {
        links_.push_back(make_link(opts_.host, opts_.port, opts_.heartbeat_prefix + "{hb}"));
        links_.back()->start();
        return;
    }
    schedule(0);
}

void RedisNodes::stop() {
    if (!started_) return;
    started_ = false;
    uv_timer_stop(&timer_);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    for (auto& l : links_) l->stop();
}

RedisLink* RedisNodes::link_for(std::string_view key) {
    if (!cluster()) return links_.empty() ? nullptr : links_.front().get();
    if (!map_) return nullptr;
    const RedisNodeAddress* owner = map_->master_of(redis_slot::key_slot(key));
    if (!owner) return nullptr;
    for (auto& l : links_)
        if (same(*l, *owner)) return l.get();
    return nullptr;
}

bool RedisNodes::command(std::string_view key, const std::vector<std::string>& args,
                         RedisLink::ReplyFn done) {
    RedisLink* l = link_for(key);
    return l && l->command(args, std::move(done));
}

void RedisNodes::schedule(std::uint64_t delay_ms) {
    if (!started_) return;
    uv_timer_start(&timer_, on_refresh_timer, delay_ms, 0);
}

void RedisNodes::refresh() {
    if (!started_) return;
    std::uint64_t now = uv_now(loop_);
    std::uint64_t due = std::max(now, last_refresh_ms_ + kMinRefreshGapMs);
    // Sooner than what is scheduled only.
    std::uint64_t pending = uv_timer_get_due_in(&timer_);
    if (uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)) && pending <= due - now) return;
    schedule(due - now);
}

void RedisNodes::on_refresh_timer(uv_timer_t* t) {
    static_cast<RedisNodes*>(t->data)->do_refresh();
}

void RedisNodes::do_refresh() {
    last_refresh_ms_ = uv_now(loop_);
    // Links stopped at the previous refresh have released their handles.
    closing_.erase(
        std::remove_if(closing_.begin(), closing_.end(), [](const auto& l) { return l->closed(); }),
        closing_.end());
    if (cluster()) {
        if (auto map = fetch_map()) apply(*map);
    }
    if (handlers_.on_map_changed) handlers_.on_map_changed();
    bool degraded = !cluster() ? false : (!map_ || links_.empty());
    for (auto& l : links_) degraded = degraded || !l->up();
    if (cluster())
        schedule(degraded ? kMinRefreshGapMs : kHealthyRefreshMs);
    else if (degraded || !closing_.empty())
        schedule(kHealthyRefreshMs);
}

std::optional<ClusterSlotMap> RedisNodes::fetch_map() {
    std::vector<RedisNodeAddress> candidates;
    for (auto& l : links_)
        if (l->up()) candidates.push_back({l->host(), l->port()});
    if (map_)
        for (const auto& n : map_->nodes()) candidates.push_back(n);
    for (const auto& seed : opts_.cluster) {
        try {
            candidates.push_back(parse_node_address(seed));
        } catch (const std::exception&) {
        }
    }
    auto map = fetch_cluster_slots(candidates, std::min(opts_.timeout_ms, 300));
    if (map) return map;
    log::warn("bazaar-ws: no Redis Cluster node answered CLUSTER SLOTS");
    return std::nullopt;
}

void RedisNodes::drop(std::unique_ptr<RedisLink> link) {
    log::info("bazaar-ws: dropping the link of a former master",
              {{"node", link->host() + ":" + std::to_string(link->port())}});
    if (handlers_.on_down) handlers_.on_down(*link);  // its rooms are not subscribed any more
    link->stop();
    closing_.push_back(std::move(link));
}

void RedisNodes::apply(const ClusterSlotMap& map) {
    std::vector<LinkState> current;
    for (auto& l : links_) current.push_back({{l->host(), l->port()}, l->heartbeat_channel()});
    LinkPlan plan = plan_links(map, current);
    map_ = map;
    std::vector<std::unique_ptr<RedisLink>> keep;
    for (std::size_t i = 0; i < links_.size(); ++i) {
        if (std::find(plan.drop.begin(), plan.drop.end(), i) != plan.drop.end())
            drop(std::move(links_[i]));
        else
            keep.push_back(std::move(links_[i]));
    }
    links_ = std::move(keep);
    for (const auto& m : plan.add) {
        auto hb = heartbeat_channel(map, m, opts_.heartbeat_prefix);
        if (!hb) continue;
        log::info("bazaar-ws: linking a cluster master", {{"node", m.str()}});
        links_.push_back(make_link(m.host, m.port, *hb));
        links_.back()->start();
    }
}

}  // namespace bazaar::ws

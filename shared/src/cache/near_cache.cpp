#include "bazaar/cache/near_cache.hpp"

#include <algorithm>
#include <functional>

namespace bazaar::cache {

namespace {

// "c:{<scope>}<rest>" (read_cache.cpp's key layout). A scope never holds
// '}', a variant may, so the scope ends at the first '}'.
bool split_key(std::string_view key, std::string_view& scope, std::string_view& rest) {
    constexpr std::string_view kPrefix = "c:{";
    if (!key.starts_with(kPrefix)) return false;
    auto close = key.find('}', kPrefix.size());
    if (close == std::string_view::npos) return false;
    scope = key.substr(kPrefix.size(), close - kPrefix.size());
    rest = key.substr(close + 1);
    return true;
}

}  // namespace

NearCache::NearCache(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_per_shard_(std::max<std::size_t>(1, max_entries / kShards)),
      max_bytes_per_shard_(std::max<std::size_t>(1, max_bytes / kShards)) {}

std::size_t NearCache::shard_of(std::string_view scope) const {
    return std::hash<std::string_view>{}(scope) % kShards;
}

void NearCache::erase_locked(Shard& s, std::list<Node>::iterator it) {
    auto sc = s.by_scope.find(it->scope);
    if (sc != s.by_scope.end()) {
        sc->second.erase(&*it);
        if (sc->second.empty()) s.by_scope.erase(sc);
    }
    s.by_key.erase(it->key);
    s.bytes -= it->bytes;
    s.lru.erase(it);
}

std::shared_ptr<const std::string> NearCache::get(std::string_view scope, std::string_view key,
                                                  Clock::time_point now) {
    if (!healthy()) return nullptr;
    Shard& s = shards_[shard_of(scope)];
    std::lock_guard lock(s.mu);
    auto found = s.by_key.find(std::string(key));
    if (found == s.by_key.end()) return nullptr;
    auto it = found->second;
    if (it->expires <= now) {
        erase_locked(s, it);
        return nullptr;
    }
    s.lru.splice(s.lru.begin(), s.lru, it);
    return it->body;
}

NearCache::Ticket NearCache::ticket(std::string_view scope) const {
    Ticket t;
    t.shard = shard_of(scope);
    // Epoch and health first: a flush between these reads makes put() fail
    // on the epoch, never succeed on a stale pair.
    t.epoch = epoch_.load(std::memory_order_acquire);
    t.healthy = healthy();
    const Shard& s = shards_[t.shard];
    std::lock_guard lock(s.mu);
    t.shard_seq = s.seq;
    return t;
}

bool NearCache::put(const Ticket& t, std::string_view scope, std::string_view key, std::string body,
                    Clock::time_point expires) {
    if (!t.healthy) return false;
    const std::size_t bytes = key.size() * 2 + scope.size() + body.size() + kEntryOverhead;
    if (bytes > max_bytes_per_shard_) return false;
    auto value = std::make_shared<const std::string>(std::move(body));
    Shard& s = shards_[t.shard];
    std::lock_guard lock(s.mu);
    // Checked under the shard lock, which invalidations and flushes take too.
    if (!healthy() || epoch_.load(std::memory_order_acquire) != t.epoch || s.seq != t.shard_seq)
        return false;
    std::string k(key);
    if (auto old = s.by_key.find(k); old != s.by_key.end()) erase_locked(s, old->second);
    while (!s.lru.empty() &&
           (s.lru.size() + 1 > max_entries_per_shard_ || s.bytes + bytes > max_bytes_per_shard_))
        erase_locked(s, std::prev(s.lru.end()));
    s.lru.push_front(Node{std::string(scope), k, std::move(value), expires, bytes});
    s.by_key.emplace(std::move(k), s.lru.begin());
    s.by_scope[s.lru.front().scope].insert(&s.lru.front());
    s.bytes += bytes;
    return true;
}

void NearCache::invalidate_scope(std::string_view scope) {
    Shard& s = shards_[shard_of(scope)];
    std::lock_guard lock(s.mu);
    ++s.seq;
    auto sc = s.by_scope.find(std::string(scope));
    if (sc == s.by_scope.end()) return;
    std::unordered_set<Node*> nodes = std::move(sc->second);
    s.by_scope.erase(sc);
    for (Node* n : nodes) {
        auto it = s.by_key.find(n->key);
        if (it == s.by_key.end()) continue;
        auto node = it->second;
        s.by_key.erase(it);
        s.bytes -= node->bytes;
        s.lru.erase(node);
    }
}

void NearCache::invalidate_key(std::string_view redis_key) {
    std::string_view scope, rest;
    if (!split_key(redis_key, scope, rest)) return;  // not a read-cache key
    if (rest.starts_with(":lock:")) return;          // locks never hold a body
    if (rest.starts_with(":v:")) {
        Shard& s = shards_[shard_of(scope)];
        std::lock_guard lock(s.mu);
        ++s.seq;
        auto it = s.by_key.find(std::string(redis_key));
        if (it != s.by_key.end()) erase_locked(s, it->second);
        return;
    }
    // ":gen", or a layout this build does not know: the whole scope.
    invalidate_scope(scope);
}

void NearCache::clear_all() {
    for (Shard& s : shards_) {
        std::lock_guard lock(s.mu);
        ++s.seq;
        s.lru.clear();
        s.by_key.clear();
        s.by_scope.clear();
        s.bytes = 0;
    }
}

void NearCache::flush() {
    std::lock_guard lock(health_mu_);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    clear_all();
}

void NearCache::set_healthy(bool healthy) {
    std::lock_guard lock(health_mu_);
    // Unhealthy: stop serving first, then empty. Healthy: a fresh epoch
    // first, so no ticket from before the gap can ever insert.
    if (!healthy) healthy_.store(false, std::memory_order_release);
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    clear_all();
    if (healthy) healthy_.store(true, std::memory_order_release);
}

std::size_t NearCache::entries() const {
    std::size_t n = 0;
    for (const Shard& s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.lru.size();
    }
    return n;
}

std::size_t NearCache::bytes() const {
    std::size_t n = 0;
    for (const Shard& s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.bytes;
    }
    return n;
}

}  // namespace bazaar::cache

// Redis key names of a queue. Every key of queue `n` lives under the hash tag
// `{q:n}` so that the Lua scripts, which touch many of them at once, run on
// Redis Cluster (one queue = one slot). The layout is drawn in
// lua/queue_add.lua; this struct is its only spelling on the C++ side.
#pragma once

#include <string>
#include <string_view>

namespace bazaar::queue {

// Set of every queue name ever used (admin listing, /metrics). Written with
// SADD next to the scripts, never from inside one (another slot).
inline constexpr const char* kQueuesKey = "bazaar:queues";
// The global event stream of API.md §7, appended to by the callers of the
// queue scripts (a script may not touch it: another slot).
inline constexpr const char* kEventsKey = "job:events";
inline constexpr int kEventsMaxLen = 100000;

struct QueueKeys {
    explicit QueueKeys(std::string_view queue);

    std::string job(std::string_view id) const { return prefix + "job:" + std::string(id); }
    // A key private to one worker process, so that it can wake its own
    // blocked fetcher (shutdown) without waking other processes.
    std::string wake(std::string_view worker_id) const {
        return prefix + "wake:" + std::string(worker_id);
    }

    std::string name;
    std::string prefix;  // "{q:n}:"
    std::string seq, wait, delayed, active, completed, failed, waitdeps, dlq, marker, meta, rate,
        limiter, repeat;
};

// Queue names: 1..64 of [a-z0-9_.-]. Throws Error(kValidationFailed, "queue").
void validate_queue_name(std::string_view name);
bool is_valid_queue_name(std::string_view name);

}  // namespace bazaar::queue

#include "bazaar/queue/admin.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

#include "bazaar/error.hpp"
#include "bazaar/queue/events.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/text/hex.hpp"
#include "bazaar/text/strings.hpp"
#include "bazaar/time.hpp"

namespace bazaar::queue {

namespace {

struct StateSet {
    const char* state;
    std::string QueueKeys::*key;
    bool newest_first;
};

const StateSet kStates[] = {
    {"waiting", &QueueKeys::wait, false},    {"active", &QueueKeys::active, false},
    {"delayed", &QueueKeys::delayed, false}, {"completed", &QueueKeys::completed, true},
    {"failed", &QueueKeys::failed, true},    {"waiting-children", &QueueKeys::waitdeps, false},
};

const StateSet* find_state(std::string_view state) {
    for (const auto& s : kStates)
        if (state == s.state) return &s;
    return nullptr;
}

nlohmann::json ms_time(const std::string& ms) {
    if (ms.empty()) return nullptr;
    try {
        return format_rfc3339(SysTime(std::chrono::milliseconds(std::stoll(ms))));
    } catch (const std::exception&) {
        return nullptr;
    }
}

std::int64_t to_int(const std::string& s) {
    try {
        return s.empty() ? 0 : std::stoll(s);
    } catch (const std::exception&) {
        return 0;
    }
}

nlohmann::json parse_json_or_string(const std::string& s) {
    if (s.empty()) return nullptr;
    auto j = nlohmann::json::parse(s, nullptr, false);
    return j.is_discarded() ? nlohmann::json(s) : j;
}

nlohmann::json job_json(std::string_view queue, std::string_view id, const Reply& hash) {
    std::map<std::string, std::string> f;
    for (std::size_t i = 0; i + 1 < hash.size(); i += 2)
        f[std::string(hash.at(i).str())] = std::string(hash.at(i + 1).str());
    auto deps = nlohmann::json::array();
    if (!f["dependsOn"].empty())
        for (std::string_view dep : text::split(f["dependsOn"], ',')) deps.push_back(dep);
    return {
        {"id", id},
        {"queue", queue},
        {"name", f["name"]},
        {"state", f["state"]},
        {"data", parse_json_or_string(f["data"])},
        {"priority", to_int(f["prio"])},
        {"attempts", to_int(f["att"])},
        {"attemptsMade", to_int(f["atm"])},
        {"stalls", to_int(f["stc"])},
        {"backoff", {{"type", f["bt"]}, {"delayMs", to_int(f["bd"])}}},
        {"delayMs", to_int(f["delay"])},
        {"timeoutMs", to_int(f["to"])},
        {"dependsOn", deps},
        {"pendingDependencies", to_int(f["deps"])},
        {"lastError", f["err"].empty() ? nlohmann::json(nullptr) : nlohmann::json(f["err"])},
        {"returnValue", parse_json_or_string(f["rv"])},
        {"createdAt", ms_time(f["ts"])},
        {"processedAt", ms_time(f["pon"])},
        {"finishedAt", ms_time(f["fon"])},
        {"dueAt", ms_time(f["due"])},
    };
}

// Cursor "<score>.<hex id>": the last item of the previous page.
struct Cursor {
    std::string score;
    std::string id;
};

Cursor parse_cursor(std::string_view c) {
    auto dot = c.find('.');
    auto bad = [] { return Error::validation("cursor", "is not a cursor of this listing"); };
    if (dot == std::string_view::npos || dot == 0 || dot > 24) throw bad();
    std::string score(c.substr(0, dot));
    if (!std::all_of(score.begin(), score.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        throw bad();
    auto id = text::hex_decode(c.substr(dot + 1));
    if (!id || id->empty()) throw bad();
    return {score, *id};
}

}  // namespace

std::vector<std::string> known_queues(Redis& redis) {
    Reply r = redis.command({"SMEMBERS", kQueuesKey});
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r.size(); ++i) out.emplace_back(r.at(i).str());
    std::sort(out.begin(), out.end());
    return out;
}

void require_queue(Redis& redis, std::string_view queue) {
    if (!is_valid_queue_name(queue) ||
        redis.command({"SISMEMBER", kQueuesKey, queue}).integer() != 1) {
        throw Error::not_found("queue");
    }
}

QueueCounts counts(Redis& redis, std::string_view queue) {
    QueueKeys k(queue);
    Reply r = redis.eval_script(
        "queue_counts",
        {k.wait, k.active, k.delayed, k.completed, k.failed, k.waitdeps, k.meta, k.rate}, {});
    QueueCounts c;
    c.waiting = r.at(0).integer();
    c.active = r.at(1).integer();
    c.delayed = r.at(2).integer();
    c.completed = r.at(3).integer();
    c.failed = r.at(4).integer();
    c.waiting_children = r.at(5).integer();
    c.paused = r.at(6).integer() == 1;
    c.completed_last_minute = r.at(7).integer();
    c.failed_last_minute = r.at(8).integer();
    c.completed_total = r.at(9).integer();
    c.failed_total = r.at(10).integer();
    return c;
}

nlohmann::json counts_json(std::string_view queue, const QueueCounts& c) {
    return {
        {"name", queue},
        {"waiting", c.waiting},
        {"active", c.active},
        {"delayed", c.delayed},
        {"completed", c.completed},
        {"failed", c.failed},
        {"waitingChildren", c.waiting_children},
        {"paused", c.paused},
        {"total", c.waiting + c.active + c.delayed + c.completed + c.failed + c.waiting_children},
        {"processedLastMinute", c.completed_last_minute},
        {"failedLastMinute", c.failed_last_minute}};
}

bool is_job_state(std::string_view state) {
    return find_state(state) != nullptr;
}

JobPage list_jobs(Redis& redis, std::string_view queue, std::string_view state, int limit,
                  std::optional<std::string_view> cursor) {
    const StateSet* s = find_state(state);
    if (!s)
        throw Error::validation(
            "state",
            "must be one of waiting, active, delayed, completed, failed, waiting-children");
    if (limit < 1 || limit > 100) throw Error::validation("limit", "must be between 1 and 100");
    QueueKeys k(queue);
    const std::string& key = k.*(s->key);

    std::int64_t start = 0;
    if (cursor) {
        Cursor c = parse_cursor(*cursor);
        Reply rank = redis.command({s->newest_first ? "ZREVRANK" : "ZRANK", key, c.id});
        if (!rank.is_nil()) {
            start = rank.integer() + 1;
        } else {
            // The last item moved on: resume at its score.
            start = redis
                        .command(s->newest_first ? RedisArgs{"ZCOUNT", key, "(" + c.score, "+inf"}
                                                 : RedisArgs{"ZCOUNT", key, "-inf", "(" + c.score})
                        .integer();
        }
    }
    Reply ids = redis.command(RedisArgs{s->newest_first ? "ZREVRANGE" : "ZRANGE", key}
                                  .add(start)
                                  .add(start + limit)
                                  .add("WITHSCORES"));
    std::size_t n = ids.size() / 2;
    std::size_t shown = std::min<std::size_t>(n, static_cast<std::size_t>(limit));
    std::vector<RedisArgs> gets;
    for (std::size_t i = 0; i < shown; ++i) gets.push_back({"HGETALL", k.job(ids.at(2 * i).str())});
    JobPage page;
    auto hashes = gets.empty() ? std::vector<Reply>{} : redis.pipeline(gets);
    for (std::size_t i = 0; i < shown; ++i) {
        if (hashes[i].size() == 0) continue;
        page.items.push_back(job_json(queue, ids.at(2 * i).str(), hashes[i]));
    }
    if (n > shown && shown > 0) {
        std::string score(ids.at(2 * shown - 1).str());
        score = score.substr(0, score.find('.'));
        page.next_cursor = score + "." + text::hex_encode(ids.at(2 * shown - 2).str());
    }
    return page;
}

std::optional<nlohmann::json> get_job(Redis& redis, std::string_view queue, std::string_view id) {
    QueueKeys k(queue);
    Reply h = redis.command({"HGETALL", k.job(id)});
    if (h.size() == 0) return std::nullopt;
    return job_json(queue, id, h);
}

void retry_job(Redis& redis, std::string_view queue, std::string_view id) {
    QueueKeys k(queue);
    Reply r;
    try {
        r = redis.eval_script("queue_retry", {k.failed, k.wait, k.marker},
                              {k.prefix, std::string(id), "1"});
    } catch (const RedisError& e) {
        std::string msg = e.what();
        if (msg.find("NOT_FOUND") != std::string::npos) throw Error::not_found("job");
        if (msg.find("NOT_FAILED") != std::string::npos) {
            throw Error(ErrorCode::kInvalidTransition,
                        "only a failed job can be retried; this one is " +
                            msg.substr(msg.find("NOT_FAILED") + 11));
        }
        throw;
    }
    append_events(redis, parse_events(r.at(1), queue));
}

std::int64_t retry_failed(Redis& redis, std::string_view queue) {
    QueueKeys k(queue);
    std::int64_t total = 0;
    for (;;) {
        Reply r =
            redis.eval_script("queue_retry", {k.failed, k.wait, k.marker}, {k.prefix, "", "1000"});
        append_events(redis, parse_events(r.at(1), queue));
        std::int64_t n = r.at(0).integer();
        total += n;
        if (n < 1000) return total;
    }
}

bool set_paused(Redis& redis, std::string_view queue, bool paused) {
    QueueKeys k(queue);
    bool changed =
        redis.eval_script("queue_pause", {k.meta, k.marker, k.wait}, {paused ? "1" : "0"})
            .integer() == 1;
    if (changed)
        append_events(redis,
                      {{std::string(queue), "", "", paused ? "paused" : "resumed", 0, 0, ""}});
    return changed;
}

namespace {

constexpr int kCleanPage = 1000;

// Pages through the set with queue_clean (bounded work per call, see the
// script) until it reports the end.
std::int64_t clean_set(Redis& redis, const QueueKeys& k, const std::string& key,
                       std::string_view state, std::int64_t cutoff_ms) {
    std::int64_t total = 0;
    std::int64_t start = 0;
    while (start >= 0) {
        Reply r = redis.eval_script("queue_clean", {key},
                                    {k.prefix, std::string(state), std::to_string(cutoff_ms),
                                     std::to_string(kCleanPage), std::to_string(start)});
        std::vector<JobEvent> events;
        for (std::size_t i = 0; i < r.at(1).size(); ++i)
            events.push_back({k.name, std::string(r.at(1).at(i).str()), "", "removed", 0, 0, ""});
        append_events(redis, events);
        total += r.at(0).integer();
        // An older script without a position (mid-deploy) did its whole pass.
        start = r.size() > 2 ? r.at(2).integer() : -1;
    }
    return total;
}

}  // namespace

std::int64_t clean(Redis& redis, std::string_view queue, std::string_view state,
                   std::int64_t older_than_s) {
    if (state != "completed" && state != "failed" && state != "waiting" && state != "delayed")
        throw Error::validation("state", "must be one of completed, failed, waiting, delayed");
    if (older_than_s < 0) throw Error::validation("olderThanS", "must be >= 0");
    const StateSet* s = find_state(state);
    QueueKeys k(queue);
    // The scripts compare against the Redis clock; ask it for "now" too.
    Reply t = redis.command({"TIME"});
    std::int64_t now_ms = std::stoll(std::string(t.at(0).str())) * 1000 +
                          std::stoll(std::string(t.at(1).str())) / 1000;
    return clean_set(redis, k, k.*(s->key), state, now_ms - older_than_s * 1000);
}

std::int64_t drain(Redis& redis, std::string_view queue) {
    QueueKeys k(queue);
    constexpr auto kAll = std::numeric_limits<std::int64_t>::max() / 2;
    return clean_set(redis, k, k.wait, "waiting", kAll) +
           clean_set(redis, k, k.delayed, "delayed", kAll);
}

}  // namespace bazaar::queue

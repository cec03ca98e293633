#include "bazaar/queue/producer.hpp"

#include <mutex>
#include <set>

#include "bazaar/error.hpp"
#include "bazaar/pg.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/queue/events.hpp"
#include "bazaar/queue/job_json.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/replication.hpp"
#include "bazaar/time.hpp"

namespace bazaar::queue {

namespace {

// Bounds the time one script call blocks Redis.
constexpr std::size_t kAddChunk = 500;

std::string keep_arg(const KeepPolicy& k) {
    return std::to_string(k.age_s.value_or(-1)) + "," + std::to_string(k.count.value_or(-1));
}

void append_job_args(std::vector<std::string>& args, const NewJob& job) {
    const auto& o = job.options;
    args.push_back(o.job_id);
    args.push_back(job.name);
    args.push_back(job.data.dump());
    args.push_back(std::to_string(o.priority));
    args.push_back(std::to_string(o.delay_ms));
    args.push_back(std::to_string(o.attempts));
    args.push_back(o.backoff.type == Backoff::Type::kFixed ? "fixed" : "exponential");
    args.push_back(std::to_string(o.backoff.delay_ms));
    args.push_back(keep_arg(o.remove_on_complete));
    args.push_back(keep_arg(o.remove_on_fail));
    args.push_back(std::to_string(o.timeout_ms));
    std::string deps;
    for (const auto& d : o.depends_on) deps += (deps.empty() ? "" : ",") + d;
    args.push_back(deps);
}

// SADD to the queue list once per process and queue: the set only grows.
void remember_queue(Redis& redis, const std::string& queue) {
    static std::mutex mu;
    static std::set<std::string> known;
    {
        std::lock_guard lock(mu);
        if (known.count(queue)) return;
    }
    redis.command({"SADD", kQueuesKey, queue});
    std::lock_guard lock(mu);
    known.insert(queue);
}

std::vector<std::string> add_keys(const QueueKeys& k) {
    return {k.seq, k.wait, k.delayed, k.marker, k.waitdeps, k.failed, k.dlq, k.repeat};
}

std::vector<std::string> add_args(const QueueKeys& k, const NewJob* jobs, std::size_t n,
                                  std::string_view repeat_key, std::int64_t repeat_tick) {
    std::vector<std::string> args{k.prefix, std::string(repeat_key), std::to_string(repeat_tick),
                                  std::to_string(n)};
    args.reserve(4 + n * 12);
    for (std::size_t i = 0; i < n; ++i) append_job_args(args, jobs[i]);
    return args;
}

// One queue_add call; returns the ids in order, or none when a repeat guard
// refused it.
std::vector<std::string> run_add(Redis& redis, const QueueKeys& k, const NewJob* jobs,
                                 std::size_t n, std::string_view repeat_key,
                                 std::int64_t repeat_tick) {
    auto args = add_args(k, jobs, n, repeat_key, repeat_tick);
    Reply r;
    try {
        r = redis.eval_script("queue_add", add_keys(k), args);
    } catch (const RedisError& e) {
        std::string msg = e.what();
        auto pos = msg.find("unknown dependency ");
        if (pos != std::string::npos) throw Error::validation("dependsOn", msg.substr(pos));
        throw;
    }
    std::vector<std::string> ids;
    Reply results = r.at(0);
    for (std::size_t i = 0; i + 1 < results.size(); i += 2) ids.emplace_back(results.at(i).str());
    append_events(redis, parse_events(r.at(1), k.name));
    return ids;
}

}  // namespace

std::string outbox_topic(std::string_view queue) {
    return "job:" + std::string(queue);
}

std::string add(Redis& redis, std::string_view queue, const NewJob& job) {
    auto ids = add_bulk(redis, queue, {job});
    return ids.at(0);
}

std::vector<std::string> add_bulk(Redis& redis, std::string_view queue,
                                  const std::vector<NewJob>& jobs) {
    validate_queue_name(queue);
    for (const auto& j : jobs) validate_job(j);
    QueueKeys k(queue);
    remember_queue(redis, k.name);
    std::vector<std::string> ids;
    ids.reserve(jobs.size());
    for (std::size_t at = 0; at < jobs.size(); at += kAddChunk) {
        std::size_t n = std::min(kAddChunk, jobs.size() - at);
        auto part = run_add(redis, k, jobs.data() + at, n, "", 0);
        ids.insert(ids.end(), part.begin(), part.end());
    }
    // The caller is about to tell its producer the job exists
    // (docs/redis-cluster.md, "Failover"): one WAIT covers every chunk, all on the queue's node.
    replication::confirm(redis, k.seq, "job add");
    return ids;
}

RedisArgs add_command(Redis& redis, std::string_view queue, const NewJob& job) {
    validate_queue_name(queue);
    validate_job(job);
    QueueKeys k(queue);
    remember_queue(redis, k.name);
    return script_command("queue_add", add_keys(k), add_args(k, &job, 1, "", 0));
}

std::pair<std::string, bool> read_add_reply(Redis& redis, std::string_view queue,
                                            const Reply& reply) {
    if (reply.is_error()) throw RedisError(std::string(reply.str()));
    QueueKeys k(queue);
    Reply results = reply.at(0);
    std::pair<std::string, bool> out{std::string(results.at(0).str()),
                                     results.at(1).integer() == 1};
    append_events(redis, parse_events(reply.at(1), k.name));
    return out;
}

bool add_repeat_tick(Redis& redis, std::string_view queue, std::string_view schedule_key,
                     std::int64_t tick_ms, const NewJob& job) {
    validate_queue_name(queue);
    validate_job(job);
    QueueKeys k(queue);
    remember_queue(redis, k.name);
    return !run_add(redis, k, &job, 1, schedule_key, tick_ms).empty();
}

void add_in_transaction(pqxx::transaction_base& tx, std::string_view queue, const NewJob& job) {
    validate_queue_name(queue);
    validate_job(job);
    NewJob copy = job;
    if (copy.options.job_id.empty()) copy.options.job_id = "ob-" + uuid_v4();
    exec_prepared(tx, "INSERT INTO outbox (topic, payload) VALUES ($1, $2::jsonb)",
                  outbox_topic(queue), job_to_json(copy).dump());
    // Sent after the commit only, so the relay never wakes for a rolled-back
    // job, and commits never wait on each other for it (pg.hpp).
    notify_after_commit(tx, kOutboxChannel);
}

}  // namespace bazaar::queue

#include "bazaar/queue/consumer.hpp"

namespace bazaar::queue {

namespace {

// The lease a job over the stall limit gets while its failure is recorded;
// if the caller dies first, the job comes back after this.
constexpr std::int64_t kFailGraceMs = 30000;

void add_leases(std::vector<std::string>& args, const std::vector<Lease>& leases) {
    for (const auto& [id, token] : leases) {
        args.push_back(id);
        args.push_back(token);
    }
}

}  // namespace

TakeResult take(Redis& redis, const QueueKeys& k, int max, std::int64_t lease_ms,
                const std::string& token_prefix, int rate_max, std::int64_t rate_window_ms) {
    Reply r =
        redis.eval_script("queue_take", {k.wait, k.active, k.delayed, k.marker, k.meta, k.limiter},
                          {k.prefix, std::to_string(max), std::to_string(lease_ms), token_prefix,
                           std::to_string(rate_max), std::to_string(rate_window_ms)});
    TakeResult out;
    Reply jobs = r.at(0);
    out.jobs.reserve(jobs.size() / 7);
    for (std::size_t i = 0; i + 6 < jobs.size(); i += 7) {
        TakenJob j;
        j.id = jobs.at(i).str();
        j.token = jobs.at(i + 1).str();
        j.name = jobs.at(i + 2).str();
        j.data = jobs.at(i + 3).str();
        j.attempt = static_cast<int>(jobs.at(i + 4).integer());
        j.timeout_ms = jobs.at(i + 5).integer();
        j.added_at_ms = jobs.at(i + 6).integer();
        out.jobs.push_back(std::move(j));
    }
    out.events = parse_events(r.at(1), k.name);
    std::string_view status = r.at(2).str();
    out.status = status == "ok"        ? TakeResult::Status::kOk
                 : status == "paused"  ? TakeResult::Status::kPaused
                 : status == "limited" ? TakeResult::Status::kLimited
                                       : TakeResult::Status::kEmpty;
    out.wait_ms = r.at(3).integer();
    return out;
}

std::vector<Lease> extend(Redis& redis, const QueueKeys& k, std::int64_t lease_ms,
                          const std::vector<Lease>& leases) {
    if (leases.empty()) return {};
    std::vector<std::string> args{k.prefix, std::to_string(lease_ms)};
    add_leases(args, leases);
    Reply r = redis.eval_script("queue_extend", {k.active}, args);
    std::vector<Lease> lost;
    for (std::size_t i = 0; i + 1 < r.size(); i += 2)
        lost.emplace_back(std::string(r.at(i).str()), std::string(r.at(i + 1).str()));
    return lost;
}

FinishResult finish(Redis& redis, const QueueKeys& k, const std::vector<Finish>& entries,
                    std::int64_t max_backoff_ms) {
    FinishResult out;
    if (entries.empty()) return out;
    std::vector<std::string> args{k.prefix, std::to_string(entries.size())};
    args.reserve(2 + entries.size() * 4);
    for (const auto& e : entries) {
        args.push_back(e.id);
        args.push_back(e.token);
        args.push_back(e.outcome == Finish::Outcome::kComplete ? "c"
                       : e.outcome == Finish::Outcome::kFail   ? "f"
                                                               : "u");
        args.push_back(e.payload);
    }
    args.push_back(std::to_string(max_backoff_ms));
    Reply r = redis.eval_script(
        "queue_finish",
        {k.active, k.wait, k.delayed, k.completed, k.failed, k.dlq, k.marker, k.waitdeps, k.rate},
        args);
    Reply states = r.at(0);
    for (std::size_t i = 0; i < states.size(); ++i) out.states.emplace_back(states.at(i).str());
    out.events = parse_events(r.at(1), k.name);
    return out;
}

std::vector<JobEvent> release(Redis& redis, const QueueKeys& k, const std::vector<Lease>& leases) {
    if (leases.empty()) return {};
    std::vector<std::string> args{k.prefix};
    add_leases(args, leases);
    return parse_events(redis.eval_script("queue_release", {k.active, k.wait, k.marker}, args),
                        k.name);
}

std::vector<JobEvent> maintain(Redis& redis, const QueueKeys& k, int max_stalls, int limit) {
    Reply r = redis.eval_script("queue_maintain", {k.active, k.wait, k.delayed, k.marker},
                                {k.prefix, std::to_string(max_stalls), std::to_string(limit),
                                 std::to_string(kFailGraceMs)});
    auto events = parse_events(r.at(0), k.name);
    Reply over = r.at(1);
    std::vector<Finish> fails;
    for (std::size_t i = 0; i + 1 < over.size(); i += 2) {
        fails.push_back(
            {std::string(over.at(i).str()), std::string(over.at(i + 1).str()),
             Finish::Outcome::kFailForGood,
             "stalled more than " + std::to_string(max_stalls) + " times (its worker kept dying)"});
    }
    if (!fails.empty()) {
        auto f = finish(redis, k, fails);
        // A stall is itself a state change worth seeing before the failure.
        for (const auto& l : fails)
            events.push_back({k.name, l.id, "", "stalled", 0, max_stalls + 1, "lease expired"});
        events.insert(events.end(), f.events.begin(), f.events.end());
    }
    return events;
}

}  // namespace bazaar::queue

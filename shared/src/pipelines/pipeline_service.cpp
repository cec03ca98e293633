// Runs, listing and settings of pipelines; the design is in
// bazaar/pipelines/pipeline_service.hpp.
#include "bazaar/pipelines/pipeline_service.hpp"

#include <map>

#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/queue/admin.hpp"
#include "bazaar/queue/cron.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/time.hpp"

namespace bazaar::pipelines {

namespace {

constexpr int kRunKeepS = 7 * 86400;
constexpr std::size_t kRunIdBytes = 8;  // 16 hex characters

std::string run_key(std::string_view run_id) {
    return "pipelines:run:" + std::string(run_id);
}

bool is_run_id(std::string_view s) {
    if (s.size() != kRunIdBytes * 2) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

queue::NewJob new_job(const JobSpec& spec, const std::string& run_id, nlohmann::json data,
                      bool with_dependencies) {
    queue::NewJob job{spec.id, std::move(data), {}};
    auto& o = job.options;
    o.job_id = queue_job_id(run_id, spec.id);
    o.priority = queue_priority(spec.priority);
    o.attempts = spec.attempts;
    o.backoff = {queue::Backoff::Type::kExponential, 2000};
    o.remove_on_complete = {.age_s = kRunKeepS, .count = 1000};
    o.remove_on_fail = {.age_s = kRunKeepS, .count = 1000};
    if (with_dependencies)
        for (const auto& d : spec.depends_on) o.depends_on.push_back(queue_job_id(run_id, d));
    return job;
}

RunStarted start(Backends& b, const std::vector<const JobSpec*>& specs,
                 std::optional<std::string_view> branch) {
    RunStarted r{random_hex(kRunIdBytes), {}};
    std::vector<queue::NewJob> jobs;
    nlohmann::json data = {{"runId", r.run_id},
                           {"trigger", branch ? "branch" : "job"},
                           {"branch", branch ? nlohmann::json(*branch) : nlohmann::json(nullptr)}};
    for (const auto* s : specs) {
        jobs.push_back(new_job(*s, r.run_id, data, branch.has_value()));
        r.jobs.push_back(s->id);
    }
    nlohmann::json meta = {{"branch", data["branch"]},
                           {"jobs", r.jobs},
                           {"createdAt", format_rfc3339(std::chrono::system_clock::now())}};
    // The description first: a run whose jobs exist is always describable.
    b.redis.command({"SET", run_key(r.run_id), meta.dump(), "EX", std::to_string(kRunKeepS)});
    // One script call: the dependencies are registered with the jobs,
    // atomically (the table lists dependencies before their dependents).
    queue::add_bulk(b.redis, kQueue, jobs);
    return r;
}

// An exception's text as Postgres text: bounded, and no byte that is not
// printable ASCII (a handler's error may carry anything, NUL included).
std::string printable(const std::string& s) {
    std::string out = s.substr(0, 1000);
    for (auto& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return out;
}

nlohmann::json null_or(const pqxx::field& f) {
    return f.is_null() ? nlohmann::json(nullptr) : nlohmann::json(f.as<std::string>());
}

struct Stored {
    std::optional<bool> enabled;
    nlohmann::json last_run = nullptr;
};

std::map<std::string, Stored> load_stored(Pg& pg) {
    std::map<std::string, Stored> out;
    pg.transact([&](pqxx::work& w) {
        out.clear();
        for (const auto& r : w.exec("SELECT job_id, enabled FROM pipeline_job_settings"))
            out[r[0].as<std::string>()].enabled = r[1].as<bool>();
        for (const auto& r : w.exec(
                 "SELECT job_id, status, to_char(started_at AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), duration_ms, error FROM pipeline_job_runs"))
            out[r[0].as<std::string>()].last_run = {
                {"status", r[1].as<std::string>()},
                {"startedAt", r[2].as<std::string>()},
                {"durationMs", r[3].is_null() ? nlohmann::json(nullptr)
                                              : nlohmann::json(r[3].as<std::int64_t>())},
                {"error", null_or(r[4])},
            };
    });
    return out;
}

nlohmann::json spec_json(const JobSpec& spec, const Stored& stored,
                         std::chrono::system_clock::time_point now) {
    bool enabled = stored.enabled.value_or(spec.enabled);
    nlohmann::json next = nullptr;
    if (enabled && !spec.cron.empty())
        next =
            format_rfc3339(queue::CronExpression::parse(spec.cron, spec.timezone).next_after(now));
    return {
        {"id", spec.id},
        {"name", spec.name},
        {"branch", spec.branch},
        {"cron", spec.cron.empty() ? nlohmann::json(nullptr) : nlohmann::json(spec.cron)},
        {"timezone", spec.timezone},
        {"enabled", enabled},
        {"priority", spec.priority},
        {"dependsOn", spec.depends_on},
        {"lastRun", stored.last_run},
        {"nextRunAt", next},
    };
}

}  // namespace

std::string queue_job_id(std::string_view run_id, std::string_view job_id) {
    return "run:" + std::string(run_id) + ":" + std::string(job_id);
}

RunStarted run_branch(Backends& b, std::string_view branch) {
    auto specs = branch_jobs(branch, test_jobs_enabled(b.config));
    if (specs.empty()) throw Error::not_found("branch");
    return start(b, specs, branch);
}

RunStarted run_job(Backends& b, std::string_view job_id) {
    const auto* spec = find_job(job_id, test_jobs_enabled(b.config));
    if (!spec) throw Error::not_found("pipeline job");
    return start(b, {spec}, std::nullopt);
}

nlohmann::json run_started_json(const RunStarted& r) {
    return {{"runId", r.run_id}, {"jobs", r.jobs}};
}

nlohmann::json run_status(Backends& b, std::string_view run_id) {
    if (!is_run_id(run_id)) throw Error::not_found("run");
    Reply raw = b.redis.command({"GET", run_key(run_id)});
    if (raw.is_nil()) throw Error::not_found("run");
    auto meta = nlohmann::json::parse(raw.str(), nullptr, false);
    if (meta.is_discarded() || !meta.contains("jobs")) throw Error::not_found("run");
    auto jobs = nlohmann::json::array();
    bool running = false, failed = false;
    for (const auto& id : meta["jobs"]) {
        std::string qid = queue_job_id(run_id, id.get<std::string>());
        auto job = queue::get_job(b.redis, kQueue, qid);
        nlohmann::json status = "removed", reason = nullptr, started = nullptr, finished = nullptr,
                       result = nullptr;
        if (job) {
            std::string state = (*job)["state"].get<std::string>();
            reason = (*job)["lastError"];
            started = (*job)["processedAt"];
            finished = (*job)["finishedAt"];
            result = (*job)["returnValue"];
            // A dependent the queue failed because a dependency did never ran.
            bool skipped = state == "failed" && (*job)["attemptsMade"] == 0 && reason.is_string() &&
                           reason.get<std::string>().rfind("dependency ", 0) == 0;
            status = skipped ? "skipped" : state;
            if (state == "failed") failed = true;
            if (state != "failed" && state != "completed") running = true;
        }
        jobs.push_back({{"id", id},
                        {"queueJobId", qid},
                        {"status", status},
                        {"reason", reason},
                        {"startedAt", started},
                        {"finishedAt", finished},
                        {"result", result}});
    }
    return {{"runId", run_id},
            {"branch", meta["branch"]},
            {"createdAt", meta["createdAt"]},
            {"status", running  ? "running"
                       : failed ? "failed"
                                : "completed"},
            {"jobs", jobs}};
}

nlohmann::json overview(Backends& b, std::chrono::system_clock::time_point now) {
    auto stored = load_stored(b.pg);
    auto out = nlohmann::json::array();
    for (const auto& branch : branches()) {
        auto jobs = nlohmann::json::array();
        for (const auto* spec : branch_jobs(branch, false))
            jobs.push_back(spec_json(*spec, stored[spec->id], now));
        out.push_back({{"branch", branch}, {"jobs", jobs}});
    }
    return out;
}

nlohmann::json job_json(Backends& b, const JobSpec& spec,
                        std::chrono::system_clock::time_point now) {
    auto stored = load_stored(b.pg);
    return spec_json(spec, stored[spec.id], now);
}

bool parse_enabled(const nlohmann::json& body) {
    JsonInput in(body, {"enabled"});
    bool value = false;
    if (!body.is_object() || !body.contains("enabled"))
        in.add_issue("enabled", "is required");
    else if (!body["enabled"].is_boolean())
        in.add_issue("enabled", "must be true or false");
    else
        value = body["enabled"].get<bool>();
    in.finish();
    return value;
}

void set_enabled(Backends& b, const JobSpec& spec, bool enabled) {
    b.pg.transact([&](pqxx::work& w) {
        w.exec_params(
            "INSERT INTO pipeline_job_settings (job_id, enabled) VALUES ($1, $2) "
            "ON CONFLICT (job_id) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()",
            spec.id, enabled);
    });
}

bool is_enabled(Pg& pg, const JobSpec& spec) {
    return pg.transact([&](pqxx::work& w) {
        auto r =
            w.exec_params("SELECT enabled FROM pipeline_job_settings WHERE job_id = $1", spec.id);
        return r.empty() ? spec.enabled : r[0][0].as<bool>();
    });
}

void record_start(Pg& pg, const JobSpec& spec, const std::string& queue_job_id) {
    pg.transact([&](pqxx::work& w) {
        w.exec_params(
            "INSERT INTO pipeline_job_runs (job_id, queue_job_id, status, started_at) "
            "VALUES ($1, $2, 'running', now()) ON CONFLICT (job_id) DO UPDATE SET "
            "queue_job_id = EXCLUDED.queue_job_id, status = 'running', started_at = now(), "
            "duration_ms = NULL, error = NULL, result = NULL",
            spec.id, queue_job_id);
    });
}

void record_finish(Pg& pg, const JobSpec& spec, const std::string& queue_job_id, bool ok,
                   std::int64_t duration_ms, const nlohmann::json& result,
                   const std::string& error) {
    pg.transact([&](pqxx::work& w) {
        w.exec_params(
            "UPDATE pipeline_job_runs SET status = $3, duration_ms = $4, error = $5, "
            "result = $6::jsonb WHERE job_id = $1 AND queue_job_id = $2",
            spec.id, queue_job_id, ok ? "completed" : "failed",
            std::max<std::int64_t>(duration_ms, 0),
            ok ? std::optional<std::string>() : std::optional<std::string>(printable(error)),
            result.is_null() ? std::optional<std::string>()
                             : std::optional<std::string>(result.dump(
                                   -1, ' ', false, nlohmann::json::error_handler_t::replace)));
    });
}

}  // namespace bazaar::pipelines

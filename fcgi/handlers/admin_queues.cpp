#include "admin_queues.hpp"

#include <charconv>

#include "../auth_guard.hpp"
#include "../rate_limit.hpp"
#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/queue/admin.hpp"
#include "bazaar/queue/events.hpp"
#include "bazaar/queue/outbox_relay.hpp"
#include "operations.hpp"

namespace bazaar::http {

namespace {

std::int64_t int_param(Request& req, std::string_view name, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) {
    auto v = req.query_param(name);
    if (!v) return fallback;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (v->empty() || ec != std::errc() || p != v->data() + v->size() || n < lo || n > hi) {
        throw Error::validation(
            std::string(name),
            "must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return n;
}

// The queue named in the path; 404 unless some producer or worker used it.
std::string queue_param(Request& req, Backends& b) {
    std::string name(req.param("name"));
    queue::require_queue(b.redis, name);
    return name;
}

Response list_queues(Request& req, Backends& b) {
    require_admin(req, b);
    auto out = nlohmann::json::array();
    for (const auto& q : queue::known_queues(b.redis))
        out.push_back(queue::counts_json(q, queue::counts(b.redis, q)));
    return Response::ok(out);
}

Response list_jobs(Request& req, Backends& b) {
    require_admin(req, b);
    std::string name = queue_param(req, b);
    std::string state(req.query_param("state").value_or("waiting"));
    int limit = static_cast<int>(int_param(req, "limit", 20, 1, 100));
    auto page = queue::list_jobs(b.redis, name, state, limit, req.query_param("cursor"));
    return Response::list(page.items, page.next_cursor, limit);
}

Response get_job(Request& req, Backends& b) {
    require_admin(req, b);
    std::string name = queue_param(req, b);
    auto job = queue::get_job(b.redis, name, req.param("id"));
    if (!job) throw Error::not_found("job");
    return Response::ok(*job);
}

Response retry_job(Request& req, Backends& b) {
    require_admin(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());  // takes no body
    std::string name = queue_param(req, b);
    queue::retry_job(b.redis, name, req.param("id"));
    return Response::ok(queue::get_job(b.redis, name, req.param("id")).value_or(nullptr));
}

Response retry_failed(Request& req, Backends& b) {
    require_admin(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());  // takes no body
    std::string name = queue_param(req, b);
    return Response::ok({{"retried", queue::retry_failed(b.redis, name)}});
}

Response pause(Request& req, Backends& b, bool paused) {
    require_admin(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());  // takes no body
    std::string name = queue_param(req, b);
    queue::set_paused(b.redis, name, paused);
    return Response::ok(queue::counts_json(name, queue::counts(b.redis, name)));
}

Response clean_jobs(Request& req, Backends& b) {
    require_admin(req, b);
    std::string name = queue_param(req, b);
    auto state = req.query_param("state");
    if (!state) throw Error::validation("state", "is required");
    std::int64_t older = int_param(req, "olderThanS", 0, 0, 10LL * 365 * 24 * 3600);
    return Response::ok({{"removed", queue::clean(b.redis, name, *state, older)}});
}

Response events(Request& req, Backends& b) {
    require_admin(req, b);
    int limit = static_cast<int>(int_param(req, "limit", 50, 1, 1000));
    return Response::ok(queue::read_events(b.redis, limit));
}

// Prometheus lines for every known queue, read at scrape time.
std::string metrics_section(Backends& b) {
    std::string out =
        "# HELP bazaar_queue_jobs Jobs in a queue by state.\n"
        "# TYPE bazaar_queue_jobs gauge\n";
    std::string processed =
        "# HELP bazaar_queue_jobs_completed_total Jobs completed since the queue exists.\n"
        "# TYPE bazaar_queue_jobs_completed_total counter\n";
    std::string failed =
        "# HELP bazaar_queue_jobs_failed_total Failed job attempts since the queue exists.\n"
        "# TYPE bazaar_queue_jobs_failed_total counter\n";
    std::string paused =
        "# HELP bazaar_queue_paused 1 while the queue is paused.\n"
        "# TYPE bazaar_queue_paused gauge\n";
    for (const auto& q : queue::known_queues(b.redis)) {
        auto c = queue::counts(b.redis, q);
        std::string label = "queue=\"" + q + "\"";
        for (auto [state, n] : {std::pair{"waiting", c.waiting},
                                {"active", c.active},
                                {"delayed", c.delayed},
                                {"completed", c.completed},
                                {"failed", c.failed},
                                {"waiting-children", c.waiting_children}}) {
            out += "bazaar_queue_jobs{" + label + ",state=\"" + state + "\"} " + std::to_string(n) +
                   "\n";
        }
        processed += "bazaar_queue_jobs_completed_total{" + label + "} " +
                     std::to_string(c.completed_total) + "\n";
        failed += "bazaar_queue_jobs_failed_total{" + label + "} " +
                  std::to_string(c.failed_total) + "\n";
        paused += "bazaar_queue_paused{" + label + "} " + (c.paused ? "1" : "0") + "\n";
    }
    out += processed + failed + paused;
    out +=
        "# HELP bazaar_outbox_job_lag_seconds Age of the oldest job still in the outbox.\n"
        "# TYPE bazaar_outbox_job_lag_seconds gauge\n"
        "bazaar_outbox_job_lag_seconds " +
        std::to_string(queue::outbox_lag_seconds(b.pg)) + "\n";
    out +=
        "# HELP bazaar_outbox_failed_rows Outbox jobs the relay set aside (see "
        "/api/v1/admin/outbox/failed).\n"
        "# TYPE bazaar_outbox_failed_rows gauge\n"
        "bazaar_outbox_failed_rows " +
        std::to_string(queue::failed_outbox_rows(b.pg, 0).total) + "\n";
    return out;
}

// Outbox rows the relay could never publish, newest first, with their error.
Response failed_outbox(Request& req, Backends& b) {
    require_admin(req, b);
    int limit = static_cast<int>(int_param(req, "limit", 20, 1, 100));
    auto f = queue::failed_outbox_rows(b.pg, limit);
    auto rows = nlohmann::json::array();
    for (const auto& r : f.rows) {
        nlohmann::json job = nlohmann::json::parse(r.payload, nullptr, false);
        rows.push_back({{"id", std::to_string(r.id)},
                        {"queue", r.topic.substr(r.topic.find(':') + 1)},
                        {"attempts", r.attempts},
                        {"error", r.error},
                        {"failedAt", r.failed_at},
                        {"createdAt", r.created_at},
                        {"job", job.is_discarded() ? nlohmann::json(nullptr) : job}});
    }
    return Response::ok({{"total", f.total}, {"rows", rows}});
}

// {redriven, ids}: the rows handed back to the relay.
nlohmann::json redrive_json(const queue::RedriveResult& r) {
    auto ids = nlohmann::json::array();
    for (auto id : r.ids) ids.push_back(std::to_string(id));
    return {{"redriven", r.ids.size()}, {"ids", ids}};
}

// One row set aside, back to the relay (attempts and failed_at cleared).
Response redrive_one(Request& req, Backends& b) {
    require_admin(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());  // takes no body
    std::string_view raw = req.param("id");
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
    if (raw.empty() || ec != std::errc() || p != raw.data() + raw.size() || id < 1)
        throw Error::validation("id", "must be a positive integer (an outbox row id)");
    return Response::ok(redrive_json(queue::redrive_outbox(b.pg, id)));
}

// Every row set aside (of ?queue= only, when given), back to the relay.
Response redrive_all(Request& req, Backends& b) {
    require_admin(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());  // takes no body
    std::optional<std::string> queue;
    if (auto q = req.query_param("queue")) queue = std::string(*q);
    return Response::ok(redrive_json(queue::redrive_outbox(b.pg, std::nullopt, queue)));
}

}  // namespace

void register_admin_queue_routes(Router& router) {
    const std::string q = "/api/v1/admin/queues";
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("GET", q, api(list_queues));
    router.add("GET", q + "/:name/jobs", api(list_jobs));
    router.add("DELETE", q + "/:name/jobs", api(clean_jobs));
    router.add("GET", q + "/:name/jobs/:id", api(get_job));
    router.add("POST", q + "/:name/jobs/:id/retry", api(retry_job));
    router.add("POST", q + "/:name/retry-failed", api(retry_failed));
    router.add("POST", q + "/:name/pause",
               api([](Request& r, Backends& b) { return pause(r, b, true); }));
    router.add("POST", q + "/:name/resume",
               api([](Request& r, Backends& b) { return pause(r, b, false); }));
    router.add("GET", "/api/v1/admin/events", api(events));
    router.add("GET", "/api/v1/admin/outbox/failed", api(failed_outbox));
    router.add("POST", "/api/v1/admin/outbox/redrive", api(redrive_all));
    router.add("POST", "/api/v1/admin/outbox/:id/redrive", api(redrive_one));
    add_metrics_section(metrics_section);
}

}  // namespace bazaar::http

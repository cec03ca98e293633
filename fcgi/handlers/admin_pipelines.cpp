#include "admin_pipelines.hpp"

#include "../auth_guard.hpp"
#include "../rate_limit.hpp"
#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/pipelines/pipeline_service.hpp"

namespace bazaar::http {

namespace {

using Clock = std::chrono::system_clock;

const pipelines::JobSpec& job_param(Request& req, Backends& b) {
    const auto* spec = pipelines::find_job(req.param("id"), pipelines::test_jobs_enabled(b.config));
    if (!spec) throw Error::not_found("pipeline job");
    return *spec;
}

Response list(Request& req, Backends& b) {
    require_admin(req, b);
    return Response::ok(pipelines::overview(b, Clock::now()));
}

Response run_branch(Request& req, Backends& b) {
    require_admin(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());  // takes no body
    auto r = pipelines::run_branch(b, req.param("branch"));
    return Response::ok(pipelines::run_started_json(r), 202);
}

Response run_job(Request& req, Backends& b) {
    require_admin(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());  // takes no body
    const auto& spec = job_param(req, b);
    return Response::ok(pipelines::run_started_json(pipelines::run_job(b, spec.id)), 202);
}

Response patch_job(Request& req, Backends& b) {
    require_admin(req, b);
    bool enabled = pipelines::parse_enabled(req.json());
    const auto& spec = job_param(req, b);
    pipelines::set_enabled(b, spec, enabled);
    return Response::ok(pipelines::job_json(b, spec, Clock::now()));
}

Response run_status(Request& req, Backends& b) {
    require_admin(req, b);
    return Response::ok(pipelines::run_status(b, req.param("runId")));
}

}  // namespace

void register_admin_pipeline_routes(Router& router) {
    const std::string p = "/api/v1/admin/pipelines";
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    router.add("GET", p, api(list));
    router.add("POST", p + "/:branch/run", api(run_branch));
    router.add("POST", p + "/jobs/:id/run", api(run_job));
    router.add("PATCH", p + "/jobs/:id", api(patch_job));
    router.add("GET", p + "/runs/:runId", api(run_status));
}

}  // namespace bazaar::http

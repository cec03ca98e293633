#include "idempotent.hpp"

#include <nlohmann/json.hpp>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"

namespace bazaar::http {

namespace {

// The error code of a rendered error body ("" for a success).
std::string code_of(const Response& r) {
    if (r.status < 400) return {};
    try {
        auto j = nlohmann::json::parse(r.body);
        return j.at("error").at("code").get<std::string>();
    } catch (const std::exception&) {
        return {};
    }
}

}  // namespace

idempotency::StoredResponse to_stored(const Response& r) {
    return {r.status, r.content_type, r.body};
}

Handler idempotent(IdempotentHandler h) {
    return [h = std::move(h)](Request& req, Backends& b) -> Response {
        Principal p = require_user(req, b);
        std::string key = idempotency::validate_key(req.header("Idempotency-Key"));
        auto begun = idempotency::begin(b.pg, p.user_id, key,
                                        idempotency::fingerprint(req.method, req.path, req.body),
                                        b.config.idempotency_lease_ms);
        if (begun.replay) {
            Response r;
            r.status = begun.replay->status;
            r.content_type = begun.replay->content_type;
            r.body = begun.replay->body;
            r.header("Idempotent-Replayed", "true");
            return r;
        }
        auto& scope = *begun.scope;
        Response out;
        std::string code;
        try {
            out = h(req, b, p, scope);
        } catch (const Error& e) {
            out = Response::raw_json(e.body(), e.http_status());
            for (const auto& [k, v] : e.headers()) out.header(k, v);
            code = error_code_name(e.code());
        } catch (const std::exception& e) {
            // What the server answers for any unexpected failure (server.cpp),
            // stored like Stripe stores its 500s.
            log::error("unhandled exception", {{"error", e.what()}, {"path", req.path}});
            out = Response::raw_json(Error(ErrorCode::kInternal, "internal error").body(), 500);
            code = "INTERNAL";
        }
        if (code.empty()) code = code_of(out);
        idempotency::finish(b.pg, scope, to_stored(out), code);
        return out;
    };
}

}  // namespace bazaar::http

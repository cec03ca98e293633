#include "rate_limit.hpp"

#include "auth_guard.hpp"
#include "bazaar/error.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/ratelimit/rate_limiter.hpp"

namespace bazaar::http {

namespace {

std::string identity(RateClass cls, Request& req, Backends& b) {
    if (cls == RateClass::kApi) {
        // A bad token is the handler's business (401 where a user is needed);
        // for accounting it just means "anonymous".
        try {
            if (auto p = optional_user(req, b)) return "user:" + p->user_id;
        } catch (const Error&) {
        }
    }
    return "ip:" + req.client_ip;
}

}  // namespace

Handler rate_limited(RateClass cls, Handler handler) {
    return [cls, handler = std::move(handler)](Request& req, Backends& b) -> Response {
        if (ratelimit::is_exempt(b.config, req.client_ip)) return handler(req, b);
        const auto& cfg =
            cls == RateClass::kAuth ? b.config.rate_limit_auth : b.config.rate_limit_api;
        ratelimit::Policy policy{cls == RateClass::kAuth ? "auth" : "api", cfg.limit, cfg.window_s};
        auto decision = ratelimit::check(b.redis, policy, identity(cls, req, b));
        if (!decision) return handler(req, b);  // Redis down: fail open
        auto headers = ratelimit::headers(*decision);
        if (!decision->allowed) {
            metrics::inc(metrics::Counter::kRateLimited);
            Error e(ErrorCode::kRateLimited, "too many requests, retry in " +
                                                 std::to_string(decision->retry_after_s) + " s");
            for (auto& [k, v] : headers) e.with_header(k, v);
            throw e;
        }
        try {
            Response r = handler(req, b);
            for (auto& [k, v] : headers) r.header(k, v);
            return r;
        } catch (Error& e) {
            for (auto& [k, v] : headers) e.with_header(k, v);
            throw;
        }
    };
}

}  // namespace bazaar::http

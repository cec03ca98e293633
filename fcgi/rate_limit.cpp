#include "rate_limit.hpp"

#include "auth_guard.hpp"
#include "bazaar/error.hpp"
#include "bazaar/metrics.hpp"

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

ratelimit::Policy policy(RateClass cls, const Config& c) {
    const auto& l = cls == RateClass::kAuth ? c.rate_limit_auth : c.rate_limit_api;
    return {cls == RateClass::kAuth ? "auth" : "api", l.limit, l.window_s};
}

}  // namespace

RateCheck::RateCheck(RateClass cls, Request& req, Backends& b)
    : b_(b),
      policy_(policy(cls, b.config)),
      exempt_(ratelimit::is_exempt(b.config, req.client_ip)) {
    if (exempt_) {
        checked_ = true;
        return;
    }
    identity_ = identity(cls, req, b);
    piggyback_.commands.push_back(ratelimit::command(policy_, identity_));
    piggyback_.on_replies = [this](const std::vector<Reply>& replies) {
        // No reply: Redis is down and the limiter fails open.
        settle(replies.empty() ? std::nullopt
                               : ratelimit::from_reply(b_.redis, policy_, identity_, replies[0]));
    };
}

const cache::Piggyback* RateCheck::piggyback() {
    return checked_ ? nullptr : &piggyback_;
}

void RateCheck::ensure_checked() {
    if (!checked_) settle(ratelimit::check(b_.redis, policy_, identity_));
}

void RateCheck::settle(std::optional<ratelimit::Decision> d) {
    checked_ = true;
    decision_ = d;
    if (decision_ && !decision_->allowed) {
        metrics::inc(metrics::Counter::kRateLimited);
        Error e(ErrorCode::kRateLimited,
                "too many requests, retry in " + std::to_string(decision_->retry_after_s) + " s");
        decorate(e);
        throw e;
    }
}

void RateCheck::decorate(Response& r) const {
    if (!decision_) return;
    for (auto& [k, v] : ratelimit::headers(*decision_)) r.header(k, v);
}

void RateCheck::decorate(Error& e) const {
    if (!decision_) return;
    for (auto& [k, v] : ratelimit::headers(*decision_)) e.with_header(k, v);
}

Handler rate_limited(RateClass cls, Handler handler) {
    return [cls, handler = std::move(handler)](Request& req, Backends& b) -> Response {
        RateCheck check(cls, req, b);
        check.ensure_checked();
        try {
            Response r = handler(req, b);
            check.decorate(r);
            return r;
        } catch (Error& e) {
            check.decorate(e);
            throw;
        }
    };
}

Handler rate_limited_read(RateClass cls, ReadHandler handler) {
    return [cls, handler = std::move(handler)](Request& req, Backends& b) -> Response {
        RateCheck check(cls, req, b);
        try {
            Response r = handler(req, b, check);
            check.ensure_checked();
            check.decorate(r);
            return r;
        } catch (Error& e) {
            if (e.code() == ErrorCode::kRateLimited) throw;  // already decorated
            check.ensure_checked();  // throws 429 instead when over the limit
            check.decorate(e);
            throw;
        }
    };
}

}  // namespace bazaar::http

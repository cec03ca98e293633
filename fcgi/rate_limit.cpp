#include "rate_limit.hpp"

#include <chrono>

#include "auth_guard.hpp"
#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/error.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/ratelimit/local_limiter.hpp"

namespace bazaar::http {

namespace {

ratelimit::Policy policy(RateClass cls, const Config& c) {
    const auto& l = cls == RateClass::kAuth ? c.rate_limit_auth : c.rate_limit_api;
    return {cls == RateClass::kAuth ? "auth" : "api", l.limit, l.window_s};
}

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

RateCheck::RateCheck(RateClass cls, Request& req, Backends& b)
    : b_(b),
      req_(req),
      cls_(cls),
      policy_(policy(cls, b.config)),
      exempt_(ratelimit::is_exempt(b.config, req.client_ip)) {
    // A bad token is the handler's business (401 where a user is needed);
    // for accounting it just means "anonymous".
    std::optional<auth::AccessClaims> claims;
    if (cls == RateClass::kApi) claims = presented_claims(req, b);
    identity_ = claims ? "user:" + claims->user_id : "ip:" + req.client_ip;
    if (!exempt_) piggyback_.commands.push_back(ratelimit::command(policy_, identity_));
    if (claims) {
        piggyback_.commands.push_back(auth::not_before_command(claims->user_id));
        req.session_stamp.user_id = claims->user_id;
        has_stamp_ = true;
    }
    checked_ = piggyback_.commands.empty();
    piggyback_.on_replies = [this](const std::vector<Reply>& replies) { on_replies(replies); };
}

const cache::Piggyback* RateCheck::piggyback() {
    return checked_ ? nullptr : &piggyback_;
}

void RateCheck::ensure_checked() {
    if (checked_) return;
    std::vector<Reply> replies;
    try {
        replies = b_.redis.pipeline(piggyback_.commands);
    } catch (const Error& e) {
        if (e.code() != ErrorCode::kUnavailable) throw;
    }
    on_replies(replies);
}

// `replies` answer piggyback_.commands; empty when Redis is down.
void RateCheck::on_replies(const std::vector<Reply>& replies) {
    checked_ = true;
    auto& st = req_.session_stamp;
    if (has_stamp_) {
        st.loaded = true;
        if (!replies.empty()) st.not_before_ms = auth::stamp_from_reply(replies.back());
    }
    if (!exempt_) {
        std::optional<ratelimit::Decision> d;
        if (!replies.empty())
            d = ratelimit::from_reply(b_.redis, policy_, identity_, replies[0]);
        else if (cls_ == RateClass::kAuth)
            d = ratelimit::LocalLimiter::process().check(policy_, identity_, steady_ms());
        settle(d);
    }
    if (st.deferred_issued_at_ms &&
        !auth::issued_after_stamp(*st.deferred_issued_at_ms, st.not_before_ms))
        throw Error(ErrorCode::kUnauthenticated, "the session has ended; sign in again");
}

void RateCheck::settle(std::optional<ratelimit::Decision> d) {
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

// Rate-limit middleware: every limited route spends one request of the
// caller's budget (shared/ratelimit, GCRA in Redis) and every response of
// the route, success or error, carries RateLimit-* headers; over the limit
// the answer is 429 RATE_LIMITED + Retry-After.
//
//   kAuth: per client IP (credential routes: register, login, refresh, reset)
//   kApi:  per user when the request carries a valid token, else per IP
//
// Writes are checked before their handler runs. Cached reads hand the check
// to the read cache instead (RateCheck::piggyback), which sends it in the
// same round trip as the cache lookup, so a hit costs one round trip in all;
// a read that never reached its lookup (a 400 before it) is checked after.
//
// The same round trip carries the GET of the token user's "not before"
// stamp (auth/session_stamp.hpp) whenever a validly signed token came with
// the request, exempt client or not, so authentication costs no round trip
// of its own (auth_guard.cpp reads Request::session_stamp).
//
// Redis down: kApi fails open; kAuth (credential routes) falls back to a
// per-process limiter (ratelimit/local_limiter.hpp), so password guessing is
// never unlimited.
#pragma once

#include <optional>
#include <string>

#include "bazaar/cache/read_cache.hpp"
#include "bazaar/ratelimit/rate_limiter.hpp"
#include "router.hpp"

namespace bazaar::http {

enum class RateClass { kAuth, kApi };

class RateCheck {
  public:
    RateCheck(RateClass cls, Request& req, Backends& b);
    RateCheck(const RateCheck&) = delete;  // piggyback_ points back at this
    RateCheck& operator=(const RateCheck&) = delete;

    // For cache::get_or_load: the check as a pipelined command; its reply
    // settles the decision and throws 429 when refused.
    const cache::Piggyback* piggyback();
    // Settles the decision now if nothing did yet; throws 429 when refused.
    void ensure_checked();
    void decorate(Response& r) const;
    void decorate(Error& e) const;

  private:
    void settle(std::optional<ratelimit::Decision> d);
    void on_replies(const std::vector<Reply>& replies);

    Backends& b_;
    Request& req_;
    RateClass cls_;
    ratelimit::Policy policy_;
    std::string identity_;
    bool exempt_ = false;
    bool checked_ = false;
    bool has_stamp_ = false;  // the last command is the stamp GET
    std::optional<ratelimit::Decision> decision_;
    cache::Piggyback piggyback_;
};

using ReadHandler = std::function<Response(Request&, Backends&, RateCheck&)>;

// Writes and uncached routes.
Handler rate_limited(RateClass cls, Handler handler);
// Cached reads; the handler passes check.piggyback() to cached().
Handler rate_limited_read(RateClass cls, ReadHandler handler);

}  // namespace bazaar::http

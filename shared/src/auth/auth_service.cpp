#include "bazaar/auth/auth_service.hpp"

#include "bazaar/auth/hashing_gate.hpp"
#include "bazaar/auth/jwt.hpp"
#include "bazaar/auth/password.hpp"
#include "bazaar/auth/password_reset.hpp"
#include "bazaar/auth/refresh_tokens.hpp"
#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/mail/mail_jobs.hpp"
#include "bazaar/migrations.hpp"  // sha256_hex
#include "bazaar/time.hpp"

namespace bazaar::auth {

namespace {

HashingGate& gate(const Config& c) {
    return HashingGate::process(c.login_concurrency, c.login_queue, c.login_wait_ms);
}

std::string access_token(const Backends& b, const users::User& user) {
    return sign_access_token_ms(user.id, user.role, b.config.jwt_secret, now_ms(),
                                b.config.jwt_ttl_s);
}

Session open_session(Backends& b, users::User user) {
    Session s;
    s.access_token = access_token(b, user);
    s.refresh_token = issue_refresh_token(b.redis, user.id, b.config.refresh_ttl_s);
    s.user = std::move(user);
    return s;
}

Error bad_credentials() {
    return Error(ErrorCode::kUnauthenticated, "wrong email or password");
}

// A valid argon2id hash of a random password: verifying against it costs what
// verifying a real user's hash costs, so response time does not reveal
// whether an email is registered.
const std::string& decoy_hash() {
    static const std::string h = hash_password(random_hex(16));
    return h;
}

}  // namespace

Session register_user(Backends& b, std::string_view email, std::string_view username,
                      std::string_view password) {
    // Before the (costly) hash: an address the mailer cannot reach is 400.
    std::string e = users::deliverable_email(email);
    users::validate_username(username);
    users::validate_password(password);
    std::string hash;
    gate(b.config).run([&] { hash = hash_password(password); });
    users::User user = users::create_user_with_hash(b.pg, e, username, hash, "user");
    // The account exists now; a lost welcome email must not fail sign-up.
    try {
        mail::enqueue_welcome(b.redis, user);
    } catch (const std::exception& ex) {
        log::warn("welcome email not enqueued", {{"userId", user.id}, {"error", ex.what()}});
    }
    return open_session(b, std::move(user));
}

Session login(Backends& b, std::string_view email, std::string_view password) {
    std::string e;
    try {
        e = users::normalize_email(email);
    } catch (const Error&) {
        throw bad_credentials();
    }
    // Admission first: under a login flood, refused requests must not cost a
    // Postgres query each.
    HashingGate::Ticket ticket(gate(b.config));
    auto creds = b.pg.transact([&](pqxx::work& w) { return users::find_credentials(w, e); });
    bool ok = false;
    const std::string& hash = creds ? creds->password_hash : decoy_hash();
    ticket.run([&] { ok = verify_password(hash, password); });
    if (!creds || !ok) throw bad_credentials();
    return open_session(b, std::move(creds->user));
}

Session refresh(Backends& b, std::string_view refresh_token) {
    RotationPolicy policy{.ttl_s = b.config.refresh_ttl_s,
                          .reuse_window_s = b.config.refresh_reuse_window_s,
                          .access_ttl_s = b.config.jwt_ttl_s,
                          .successor_key = b.config.jwt_secret,
                          .now_ms = now_ms()};
    Rotation r = rotate_refresh_token(b.redis, refresh_token, policy);
    if (r.outcome == RotateOutcome::kReused) {
        log::warn("refresh token reused: every session of the user revoked",
                  {{"userId", r.user_id}});
    } else if (r.outcome == RotateOutcome::kRetry) {
        log::info("refresh retried within the reuse window: same new token",
                  {{"userId", r.user_id}});
    }
    if (r.outcome != RotateOutcome::kOk && r.outcome != RotateOutcome::kRetry)
        throw Error(ErrorCode::kUnauthenticated, "the refresh token is invalid or expired");
    // Rotation has committed in Redis: if this lookup fails (503) or the
    // response is lost, the client's retry lands in the reuse window.
    auto user = b.pg.transact([&](pqxx::work& w) { return users::find_by_id(w, r.user_id); });
    if (!user) {
        revoke_sessions(b.redis, r.user_id, b.config.jwt_ttl_s);
        throw Error(ErrorCode::kUnauthenticated, "the refresh token is invalid or expired");
    }
    Session s;
    // The role is read again, so a promotion or demotion applies at the
    // next refresh rather than after 7 days.
    s.access_token = access_token(b, *user);
    s.refresh_token = std::move(r.new_token);
    s.user = std::move(*user);
    return s;
}

void logout(Backends& b, std::string_view user_id) {
    revoke_sessions(b.redis, user_id, b.config.jwt_ttl_s);
}

void request_password_reset(Backends& b, std::string_view email) {
    std::string e;
    try {
        e = users::normalize_email(email);
    } catch (const Error&) {
        // 202 whatever was sent: a 400 here would tell which strings are
        // addresses we could know.
        log::info("password reset requested for a malformed email");
        return;
    }
    // No lookup here: known and unknown addresses cost the same (one
    // enqueue); the job finds out.
    mail::enqueue_password_reset(b.redis, e);
}

void confirm_password_reset(Backends& b, std::string_view token, std::string_view new_password) {
    users::validate_password(new_password, "newPassword");
    std::string hash;
    gate(b.config).run([&] { hash = hash_password(new_password); });
    // One script: exactly one of two racing confirmations spends it, and the
    // user's other outstanding tokens go with it.
    auto user_id = spend_password_reset_token(b.redis, token);
    if (!user_id) throw Error::validation("token", "is invalid, expired or already used");
    users::set_password_hash(b.pg, *user_id, hash);
    revoke_sessions(b.redis, *user_id, b.config.jwt_ttl_s);
}

}  // namespace bazaar::auth

#include "bazaar/auth/auth_service.hpp"

#include "bazaar/auth/hashing_gate.hpp"
#include "bazaar/auth/jwt.hpp"
#include "bazaar/auth/password.hpp"
#include "bazaar/auth/refresh_tokens.hpp"
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

std::int64_t now_s() {
    return now_ms() / 1000;
}

Session open_session(Backends& b, users::User user) {
    Session s;
    s.access_token =
        sign_access_token(user.id, user.role, b.config.jwt_secret, now_s(), b.config.jwt_ttl_s);
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

std::string password_reset_key(std::string_view token) {
    return "pwreset:" + sha256_hex(std::string(token));
}

Session register_user(Backends& b, std::string_view email, std::string_view username,
                      std::string_view password) {
    std::string e = users::normalize_email(email);
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
    Rotation r = rotate_refresh_token(b.redis, refresh_token, b.config.refresh_ttl_s);
    if (r.outcome == RotateOutcome::kReused) {
        log::warn("refresh token reused: every session of the user revoked",
                  {{"userId", r.user_id}});
    }
    if (r.outcome != RotateOutcome::kOk)
        throw Error(ErrorCode::kUnauthenticated, "the refresh token is invalid or expired");
    auto user = b.pg.transact([&](pqxx::work& w) { return users::find_by_id(w, r.user_id); });
    if (!user) {
        revoke_refresh_tokens(b.redis, r.user_id);
        throw Error(ErrorCode::kUnauthenticated, "the refresh token is invalid or expired");
    }
    Session s;
    // The role is read again, so a promotion or demotion applies at the
    // next refresh rather than after 7 days.
    s.access_token =
        sign_access_token(user->id, user->role, b.config.jwt_secret, now_s(), b.config.jwt_ttl_s);
    s.refresh_token = std::move(r.new_token);
    s.user = std::move(*user);
    return s;
}

void logout(Backends& b, std::string_view user_id) {
    revoke_refresh_tokens(b.redis, user_id);
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
    auto user = b.pg.transact([&](pqxx::work& w) { return users::find_by_email(w, e); });
    if (!user) {
        log::info("password reset requested for an unknown email");
        return;
    }
    std::string token = random_hex(32);
    b.redis.command({"SET", password_reset_key(token), user->id, "EX",
                     std::to_string(b.config.password_reset_ttl_s)});
    mail::enqueue_password_reset(b.redis, *user, token, b.config.password_reset_ttl_s);
}

void confirm_password_reset(Backends& b, std::string_view token, std::string_view new_password) {
    users::validate_password(new_password, "newPassword");
    std::string hash;
    gate(b.config).run([&] { hash = hash_password(new_password); });
    // GETDEL: the token is spent by exactly one request even when two race.
    Reply r = b.redis.command({"GETDEL", password_reset_key(token)});
    if (r.is_nil()) throw Error::validation("token", "is invalid, expired or already used");
    std::string user_id(r.str());
    users::set_password_hash(b.pg, user_id, hash);
    revoke_refresh_tokens(b.redis, user_id);
}

}  // namespace bazaar::auth

#include "auth.hpp"

#include "../auth_guard.hpp"
#include "../cached_response.hpp"
#include "../rate_limit.hpp"
#include "bazaar/auth/auth_service.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/json_input.hpp"

namespace bazaar::http {

namespace {

// Credentials are long strings at most; a 1 MiB "password" only burns CPU.
constexpr std::size_t kAuthBodyLimit = 16 * 1024;

std::string access_cookie(const Config& c, const std::string& token, int max_age) {
    std::string v = "accessToken=" + token +
                    "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" + std::to_string(max_age);
    if (c.app_env == "production") v += "; Secure";
    return v;
}

Response session_response(Backends& b, const auth::Session& s, int status) {
    Response r = Response::ok({{"user", users::to_json(s.user)},
                               {"accessToken", s.access_token},
                               {"refreshToken", s.refresh_token}},
                              status);
    r.header("Set-Cookie", access_cookie(b.config, s.access_token, b.config.jwt_ttl_s));
    r.header("Cache-Control", "no-store");
    return r;
}

Response register_user(Request& req, Backends& b) {
    JsonInput in(req.json(), {"email", "username", "password"});
    auto email = in.string("email", users::kEmailRule);
    auto username = in.string("username", users::kUsernameRule);
    auto password = in.string("password", users::kPasswordRule);
    in.finish();
    return session_response(b, auth::register_user(b, *email, *username, *password), 201);
}

Response login(Request& req, Backends& b) {
    JsonInput in(req.json(), {"email", "password"});
    // Lengths only bound the work here; a wrong one is just a wrong password.
    auto email = in.string("email", {.min = 1, .max = users::kEmailRule.max});
    auto password = in.string("password", {.min = 1, .max = users::kPasswordRule.max});
    in.finish();
    return session_response(b, auth::login(b, *email, *password), 200);
}

Response refresh(Request& req, Backends& b) {
    JsonInput in(req.json(), {"refreshToken"});
    auto token = in.string("refreshToken", {.min = 1, .max = 256});
    in.finish();
    return session_response(b, auth::refresh(b, *token), 200);
}

Response logout(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    if (!req.body.empty()) JsonInput::require_no_fields(req.json());
    auth::logout(b, p.user_id);
    Response r = Response::no_content();
    r.header("Set-Cookie", access_cookie(b.config, "", 0));
    return r;
}

Response get_profile(Request& req, Backends& b, RateCheck& check) {
    Principal p = require_user(req, b);
    cache::Entry entry{catalog::profile_scope(p.user_id), "profile", b.config.cache_ttl_profile_s};
    Response r = cached(
        b, entry,
        [&] {
            auto user =
                b.pg.transact([&](pqxx::work& w) { return users::find_by_id(w, p.user_id); });
            // A validly signed token of a user that no longer exists.
            if (!user) throw Error(ErrorCode::kUnauthenticated, "the token's user does not exist");
            return Response::ok(users::to_json(*user)).body;
        },
        check);
    // Personal data: shared HTTP caches must not keep it.
    r.header("Cache-Control", "private, no-store");
    return r;
}

Response patch_profile(Request& req, Backends& b) {
    Principal p = require_user(req, b);
    JsonInput in(req.json(), {"username"});
    auto username = in.string("username", users::kUsernameRule);
    in.finish();
    users::User updated;
    cache::around_write(b.redis, {catalog::profile_scope(p.user_id)},
                        [&] { updated = users::update_username(b.pg, p.user_id, *username); });
    return Response::ok(users::to_json(updated));
}

Response reset_request(Request& req, Backends& b) {
    JsonInput in(req.json(), {"email"});
    auto email = in.string("email", users::kEmailRule);
    in.finish();
    auth::request_password_reset(b, *email);
    return Response::ok(
        {{"message", "if an account exists for this email, a reset link is on its way"}}, 202);
}

Response reset_confirm(Request& req, Backends& b) {
    JsonInput in(req.json(), {"token", "newPassword"});
    auto token = in.string("token", {.min = 1, .max = 256});
    auto password = in.string("newPassword", users::kPasswordRule);
    in.finish();
    auth::confirm_password_reset(b, *token, *password);
    return Response::no_content();
}

}  // namespace

void register_auth_routes(Router& router) {
    RouteOptions small{kAuthBodyLimit};
    auto credential = [](Handler h) { return rate_limited(RateClass::kAuth, std::move(h)); };
    auto api = [](Handler h) { return rate_limited(RateClass::kApi, std::move(h)); };
    auto read = [](ReadHandler h) { return rate_limited_read(RateClass::kApi, std::move(h)); };
    router.add("POST", "/api/v1/auth/register", credential(register_user), small);
    router.add("POST", "/api/v1/auth/login", credential(login), small);
    router.add("POST", "/api/v1/auth/refresh", credential(refresh), small);
    router.add("POST", "/api/v1/auth/password-reset/request", credential(reset_request), small);
    router.add("POST", "/api/v1/auth/password-reset/confirm", credential(reset_confirm), small);
    router.add("POST", "/api/v1/auth/logout", api(logout), small);
    router.add("GET", "/api/v1/auth/profile", read(get_profile));
    router.add("PATCH", "/api/v1/auth/profile", api(patch_profile), small);
}

}  // namespace bazaar::http

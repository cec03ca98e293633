#include "bazaar/auth/refresh_tokens.hpp"

#include "bazaar/migrations.hpp"  // sha256_hex
#include "bazaar/time.hpp"

namespace bazaar::auth {

namespace {
constexpr std::size_t kRandomBytes = 32;  // 256 bits

bool is_lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool is_uuid(std::string_view s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_lower_hex(s.substr(i, 1))) return false;
    }
    return true;
}
}  // namespace

std::string make_refresh_token(std::string_view user_id) {
    return std::string(user_id) + "." + random_hex(kRandomBytes);
}

std::optional<std::string> refresh_token_user(std::string_view token) {
    auto dot = token.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    std::string_view user = token.substr(0, dot), secret = token.substr(dot + 1);
    if (!is_uuid(user) || secret.size() != 2 * kRandomBytes || !is_lower_hex(secret))
        return std::nullopt;
    return std::string(user);
}

std::string refresh_token_key(std::string_view user_id, std::string_view token) {
    return "{rt:" + std::string(user_id) + "}:t:" + sha256_hex(std::string(token));
}

std::string refresh_generation_key(std::string_view user_id) {
    return "{rt:" + std::string(user_id) + "}:gen";
}

std::string issue_refresh_token(Redis& redis, std::string_view user_id, int ttl_s) {
    std::string token = make_refresh_token(user_id);
    redis.eval_script("auth_refresh_issue",
                      {refresh_token_key(user_id, token), refresh_generation_key(user_id)},
                      {std::to_string(ttl_s)});
    return token;
}

Rotation rotate_refresh_token(Redis& redis, std::string_view presented, int ttl_s) {
    Rotation r;
    auto user = refresh_token_user(presented);
    if (!user) return r;
    r.user_id = *user;
    std::string next = make_refresh_token(*user);
    Reply reply = redis.eval_script("auth_refresh_rotate",
                                    {refresh_token_key(*user, presented),
                                     refresh_generation_key(*user), refresh_token_key(*user, next)},
                                    {std::to_string(ttl_s)});
    std::string_view s = reply.str();
    if (s == "ok") {
        r.outcome = RotateOutcome::kOk;
        r.new_token = std::move(next);
    } else if (s == "reused") {
        r.outcome = RotateOutcome::kReused;
    } else if (s == "revoked") {
        r.outcome = RotateOutcome::kRevoked;
    }
    return r;
}

void revoke_refresh_tokens(Redis& redis, std::string_view user_id) {
    redis.command({"INCR", refresh_generation_key(user_id)});
}

}  // namespace bazaar::auth

#include "bazaar/auth/password_reset.hpp"

#include "bazaar/auth/refresh_tokens.hpp"  // refresh_token_user: same token shape
#include "bazaar/key_tags.hpp"
#include "bazaar/migrations.hpp"  // sha256_hex
#include "bazaar/time.hpp"

namespace bazaar::auth {

std::string password_reset_key(std::string_view user_id) {
    return key_tags::user(user_id) + ":pwreset";
}

std::string issue_password_reset_token(Redis& redis, std::string_view user_id, int ttl_s) {
    std::string token = make_refresh_token(user_id);  // "<userId>.<256 random bits hex>"
    redis.eval_script(
        "auth_reset_issue", {password_reset_key(user_id)},
        {sha256_hex(token), std::to_string(now_ms() + ttl_s * 1000LL), std::to_string(ttl_s)});
    return token;
}

std::optional<std::string> spend_password_reset_token(Redis& redis, std::string_view token) {
    auto user = refresh_token_user(token);
    if (!user) return std::nullopt;
    Reply r = redis.eval_script("auth_reset_confirm", {password_reset_key(*user)},
                                {sha256_hex(std::string(token)), std::to_string(now_ms())});
    if (r.integer() != 1) return std::nullopt;
    return user;
}

}  // namespace bazaar::auth

#include "bazaar/auth/refresh_tokens.hpp"

#include <openssl/hmac.h>

#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/key_tags.hpp"
#include "bazaar/migrations.hpp"  // sha256_hex
#include "bazaar/replication.hpp"
#include "bazaar/text/hex.hpp"
#include "bazaar/time.hpp"
#include "bazaar/uuid.hpp"

namespace bazaar::auth {

namespace {
constexpr std::size_t kRandomBytes = 32;  // 256 bits

}  // namespace

std::string make_refresh_token(std::string_view user_id) {
    return std::string(user_id) + "." + random_hex(kRandomBytes);
}

std::optional<std::string> refresh_token_user(std::string_view token) {
    auto dot = token.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    std::string_view user = token.substr(0, dot), secret = token.substr(dot + 1);
    if (!is_canonical_uuid(user) || secret.size() != 2 * kRandomBytes ||
        !text::is_lower_hex(secret))
        return std::nullopt;
    return std::string(user);
}

std::string refresh_token_key(std::string_view user_id, std::string_view token) {
    return key_tags::user(user_id) + ":rt:t:" + sha256_hex(std::string(token));
}

std::string refresh_generation_key(std::string_view user_id) {
    return key_tags::user(user_id) + ":rt:gen";
}

std::string issue_refresh_token(Redis& redis, std::string_view user_id, int ttl_s) {
    std::string token = make_refresh_token(user_id);
    redis.eval_script("auth_refresh_issue",
                      {refresh_token_key(user_id, token), refresh_generation_key(user_id)},
                      {std::to_string(ttl_s)});
    return token;
}

std::string successor_token(std::string_view user_id, std::string_view presented,
                            const std::string& key) {
    std::string msg = "refresh-successor:" + std::string(presented);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);

    return std::string(user_id) + "." + text::hex_encode(md, len);
}

Rotation rotate_refresh_token(Redis& redis, std::string_view presented,
                              const RotationPolicy& policy) {
    Rotation r;
    auto user = refresh_token_user(presented);
    if (!user) return r;
    r.user_id = *user;
    std::string next = successor_token(*user, presented, policy.successor_key);
    Reply reply = redis.eval_script(
        "auth_refresh_rotate",
        {refresh_token_key(*user, presented), refresh_generation_key(*user),
         refresh_token_key(*user, next), not_before_key(*user)},
        {std::to_string(policy.ttl_s), std::to_string(policy.reuse_window_s * 1000LL),
         std::to_string(policy.now_ms), std::to_string(policy.access_ttl_s),
         live::channel(live::user_room(*user))});
    std::string_view s = reply.str();
    // "ok" spent the token, "reused" revoked the family: lost to a failover,
    // a replay of the spent token would go unnoticed (replication.hpp).
    if (s == "ok" || s == "reused")
        replication::confirm(redis, refresh_generation_key(*user), "refresh rotation");
    if (s == "ok" || s == "retry") {
        r.outcome = s == "ok" ? RotateOutcome::kOk : RotateOutcome::kRetry;
        r.new_token = std::move(next);
    } else if (s == "reused") {
        r.outcome = RotateOutcome::kReused;
    } else if (s == "revoked") {
        r.outcome = RotateOutcome::kRevoked;
    }
    return r;
}

}  // namespace bazaar::auth

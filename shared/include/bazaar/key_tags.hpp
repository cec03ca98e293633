// Hash tags shared by several Redis key families (docs/redis-keys.md has
// the table of every family).
//
// Redis Cluster runs a Lua script on the one node that owns its keys' slot,
// and a key's slot is decided by its hash tag, the bytes between the first
// `{` and the next `}` (bazaar/redis_slot.hpp). Keys that one script touches
// together must therefore share a tag; keys that never meet in a script get
// tags of their own, so that the load spreads over the nodes.
//
// The tag of a family is spelled by its own key builder (queue/keys.hpp,
// orders/stock.hpp, cache/read_cache.hpp, ratelimit/rate_limiter.hpp); the
// tag here is the one several modules share.
#pragma once

#include <string>
#include <string_view>

namespace bazaar::key_tags {

// "{u:<userId>}": every key of one user and the user's live channel (cart,
// event stream, relayed-outbox set, refresh tokens and their generation, the
// session stamp, password-reset tokens). One tag because the scripts cross
// those families: a cart change emits a live event (lua/cart_*.lua), a
// session revocation bumps the refresh generation, sets the stamp and
// publishes on the live channel (lua/auth_revoke_sessions.lua; a sharded
// publish from a script must stay on the script's node). `user_id` is a
// canonical UUID, so it holds no brace. Same bytes as `{` + live::user_room.
inline std::string user(std::string_view user_id) {
    std::string tag = "{u:";
    tag += user_id;
    tag += '}';
    return tag;
}

}  // namespace bazaar::key_tags

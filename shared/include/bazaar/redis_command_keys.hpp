// Which arguments of a Redis command are keys: the routing table of the
// cluster client (redis_cluster.cpp).
//
// Every command the code base sends is listed in redis_command_keys.cpp (a
// command missing from it is a bug to fix there: std::logic_error naming
// it). EVAL/EVALSHA take their keys by numkeys, XREAD/XREADGROUP after
// STREAMS, SSUBSCRIBE/SPUBLISH route by channel like a key. Keyless commands
// (PING, TIME, INFO, WAIT, SCRIPT, ...) have no slot.
#pragma once

#include <string_view>
#include <vector>

#include "bazaar/redis.hpp"

namespace bazaar::redis_keys {

inline constexpr int kNoSlot = -1;

// The key arguments of `args`, in order (empty for a keyless command).
// Throws std::logic_error for a command the table does not know.
std::vector<std::string_view> keys_of(const RedisArgs& args);

// The one slot of the command's keys, or kNoSlot for a keyless command.
// Throws std::logic_error when its keys span slots (a key layout bug:
// CROSSSLOT in a cluster) or the command is unknown.
int command_slot(const RedisArgs& args);

// DEL, UNLINK, EXISTS, TOUCH: multi-key commands whose integer reply is the
// sum over their keys, so the cluster client may split a batch spanning
// slots into one command per slot and add the replies up.
bool is_summing_multikey(const RedisArgs& args);

}  // namespace bazaar::redis_keys

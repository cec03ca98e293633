// Redis Cluster key slots: which of the 16,384 slots a key lives in.
//
// The one definition of the hash-tag rule that every key family's layout
// relies on (docs/redis-keys.md): when a key holds a `{`
// followed later by a `}` with at least one byte between them, only those
// bytes are hashed, so `{u:42}:cart` and `{u:42}:events` share a slot and one
// Lua script may touch both. Otherwise the whole key is hashed. The slot is
// CRC16-CCITT (XMODEM) of the hashed bytes, modulo 16,384, as in the Redis
// Cluster specification.
#pragma once

#include <cstdint>
#include <string_view>

namespace bazaar::redis_slot {

inline constexpr int kSlots = 16384;

// The bytes of `key` that decide its slot (the tag, or the whole key).
std::string_view hashed_part(std::string_view key);

// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) of `bytes`.
std::uint16_t crc16(std::string_view bytes);

// The cluster slot of `key`, 0 ≤ slot < kSlots.
int key_slot(std::string_view key);

}  // namespace bazaar::redis_slot

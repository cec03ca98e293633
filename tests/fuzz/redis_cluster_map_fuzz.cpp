// CLUSTER SLOTS replies (shared/src/redis_cluster_map.cpp) come from the
// network: a misbehaving or hostile node must cost an error, never a crash.
//
// Input: RESP bytes, parsed by hiredis's reader as the client would.
// Properties: parse() either throws RedisError or yields a map whose every
// slot owner is one of its masters and whose masters are all in nodes().
#include <hiredis/hiredis.h>

#include <algorithm>

#include "bazaar/redis_cluster_map.hpp"
#include "bazaar/redis_slot.hpp"
#include "fuzz_support.hpp"

using namespace bazaar;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    redisReader* reader = redisReaderCreate();
    redisReaderFeed(reader, reinterpret_cast<const char*>(data), size);
    void* raw = nullptr;
    int rc = redisReaderGetReply(reader, &raw);
    redisReaderFree(reader);
    if (rc != REDIS_OK || !raw) return 0;
    Reply reply(static_cast<redisReply*>(raw));
    try {
        auto map = ClusterSlotMap::parse(reply, "asked");
        for (int s = 0; s < redis_slot::kSlots; ++s) {
            const auto* m = map.master_of(s);
            if (!m) continue;
            FUZZ_CHECK(
                std::find(map.masters().begin(), map.masters().end(), *m) != map.masters().end(),
                "owner not a master");
        }
        for (const auto& m : map.masters())
            FUZZ_CHECK(std::find(map.nodes().begin(), map.nodes().end(), m) != map.nodes().end(),
                       "master not a node");
    } catch (const RedisError&) {
    }
    return 0;
}

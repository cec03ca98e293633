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

namespace {

// hiredis 0.14 (Debian 12's) has no bound on an aggregate's length (1.x has
// `maxelements`): "*300000000" makes its reader calloc gigabytes before it
// reads one element. That is the library's limit, met only by a node of the
// stack's own Redis that lies; what this harness checks is the map parser,
// so inputs that declare more elements than they have bytes are skipped.
bool declares_more_than_it_holds(const uint8_t* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
        if (data[i] != '*' && data[i] != '%' && data[i] != '~' && data[i] != '>') continue;
        size_t n = 0, j = i + 1;
        while (j < size && data[j] >= '0' && data[j] <= '9' && n <= size)
            n = n * 10 + (data[j++] - '0');
        if (n > size) return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (declares_more_than_it_holds(data, size)) return 0;
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

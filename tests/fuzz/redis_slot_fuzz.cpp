// Redis Cluster slots (shared/src/redis_slot.cpp): the hash-tag rule reads
// key bytes that come from outside (user ids, ISBNs, cache scopes).
//
// Properties: the slot is in range; the hashed part is a substring of the
// key; a key and its hashed part wrapped in a tag share a slot (the rule the
// key layout relies on); appending bytes after a tag never moves the key.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>

#include "bazaar/redis_slot.hpp"
#include "fuzz_support.hpp"

using namespace bazaar::redis_slot;
using bazaar::fuzz::hex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const std::string suffix = in.ConsumeRandomLengthString(64);
    const std::string key = in.ConsumeRemainingBytesAsString();

    const int slot = key_slot(key);
    FUZZ_CHECK(slot >= 0 && slot < kSlots, hex(key));
    const auto part = hashed_part(key);
    FUZZ_CHECK(part.data() >= key.data() && part.data() + part.size() <= key.data() + key.size(),
               hex(key));
    if (part.size() != key.size()) {
        FUZZ_CHECK(key_slot("{" + std::string(part) + "}") == slot, hex(key));
        FUZZ_CHECK(key_slot(key + suffix) == slot, hex(key));
    }
    if (part.find('}') == std::string_view::npos && !part.empty())
        FUZZ_CHECK(key_slot("{" + std::string(part) + "}" + suffix) == crc16(part) % kSlots,
                   hex(key));
    return 0;
}

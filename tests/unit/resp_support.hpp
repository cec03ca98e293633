// RESP bytes for unit tests of code that reads Redis replies: a reply tree
// built by hiredis's own reader, as the client would get it.
#pragma once

#include <hiredis/hiredis.h>

#include <stdexcept>
#include <string>

#include "bazaar/redis.hpp"

namespace bazaar::testing {

inline Reply resp(const std::string& bytes) {
    redisReader* reader = redisReaderCreate();
    redisReaderFeed(reader, bytes.data(), bytes.size());
    void* raw = nullptr;
    int rc = redisReaderGetReply(reader, &raw);
    redisReaderFree(reader);
    if (rc != REDIS_OK || !raw) throw std::runtime_error("incomplete RESP in test");
    return Reply(static_cast<redisReply*>(raw));
}

inline std::string bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

}  // namespace bazaar::testing

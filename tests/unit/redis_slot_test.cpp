#include <gtest/gtest.h>

#include <string>

#include "bazaar/redis_slot.hpp"

using namespace bazaar::redis_slot;

TEST(RedisSlot, Crc16IsTheXmodemVariantOfTheClusterSpec) {
    // The check value of CRC16/XMODEM, quoted by the Redis Cluster spec.
    EXPECT_EQ(crc16("123456789"), 0x31C3);
    EXPECT_EQ(crc16(""), 0);
}

// Expected slots are what `CLUSTER KEYSLOT` of Redis 7.0.15 answered.
TEST(RedisSlot, SlotsAgreeWithRedis) {
    EXPECT_EQ(key_slot("foo"), 12182);
    EXPECT_EQ(key_slot("bar"), 5061);
    EXPECT_EQ(key_slot("somekey"), 11058);
    EXPECT_EQ(key_slot("hello"), 866);
    EXPECT_EQ(key_slot("123456789"), 12739);
    EXPECT_EQ(key_slot(""), 0);
    EXPECT_EQ(key_slot("{stock}"), 3902);
    EXPECT_EQ(key_slot("{u:42}:cart"), 8980);
}

TEST(RedisSlot, HashTagRulesOfTheSpec) {
    EXPECT_EQ(key_slot("{user1000}.following"), 3443);
    EXPECT_EQ(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
    EXPECT_EQ(hashed_part("foo{}{bar}"), "foo{}{bar}");  // empty tag: whole key
    EXPECT_EQ(key_slot("foo{}{bar}"), 8363);
    EXPECT_EQ(hashed_part("foo{{bar}}zap"), "{bar");  // first `{`, first `}` after it
    EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);
    EXPECT_EQ(hashed_part("foo{bar}{zap}"), "bar");  // only the first tag counts
    EXPECT_EQ(key_slot("foo{bar}{zap}"), 5061);
    EXPECT_EQ(hashed_part("no{close"), "no{close");
    EXPECT_EQ(hashed_part("}{x}"), "x");
}

TEST(RedisSlot, BinaryKeysAreHashedByteForByte) {
    const std::string with_nul("a\0b", 3);
    EXPECT_NE(key_slot(with_nul), key_slot("a"));
    EXPECT_EQ(key_slot(std::string("{\0}x", 4)), key_slot(std::string("\0", 1)));
    EXPECT_LT(key_slot("\xff\xfe\xfd"), kSlots);
}

// Every Lua script is Redis Cluster safe (docs/redis-keys.md).
//
// A script runs on the one node owning its keys' slot, so
//   1. every script in lua/ is listed here with its key family, and a new
//      script fails EveryScriptHasAKeyFamily until it is;
//   2. every key (and channel) of one family member, spelled by the real key
//      builders, is in one slot, and script_command accepts them together;
//   3. a key a script builds itself (not passed in KEYS) is built only from
//      the queue prefix that queue_prefix() checks against KEYS[1] — the
//      static scan of the sources below fails on any other derivation;
//   4. families that no script joins have tags of their own (load spreads).
// The runtime check in script_command (shared/src/redis.cpp) guards the call
// sites themselves in every test run, single Redis included.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "bazaar/auth/password_reset.hpp"
#include "bazaar/auth/refresh_tokens.hpp"
#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/cache/read_cache.hpp"
#include "bazaar/cart/cart_flush.hpp"
#include "bazaar/cart/cart_service.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/events/live_outbox.hpp"
#include "bazaar/key_tags.hpp"
#include "bazaar/orders/stock.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/ratelimit/rate_limiter.hpp"
#include "bazaar/redis.hpp"
#include "bazaar/redis_slot.hpp"

using namespace bazaar;
namespace fs = std::filesystem;

namespace {

const std::string kLuaDir = std::string(BAZAAR_SOURCE_DIR) + "/lua";
const std::string kUserA = "0b8e9c3e-8d0e-4a53-9c57-7a5d8a3e0f11";
const std::string kUserB = "5f1d2c3b-4a59-4e68-8b7a-6c5d4e3f2a10";

enum class Family { kUser, kRoom, kStock, kQueue, kCacheScope, kRateLimit, kDirtyCarts };

// Every script and the family its keys belong to. A new script goes here.
const std::map<std::string, Family>& scripts() {
    static const std::map<std::string, Family> m = {
        {"auth_refresh_issue", Family::kUser},
        {"auth_refresh_rotate", Family::kUser},
        {"auth_reset_confirm", Family::kUser},
        {"auth_reset_issue", Family::kUser},
        {"auth_revoke_sessions", Family::kUser},
        {"cart_clear", Family::kUser},
        {"cart_persist_begin", Family::kUser},
        {"cart_dirty_claim", Family::kDirtyCarts},
        {"cart_dirty_done", Family::kDirtyCarts},
        {"cart_read", Family::kUser},
        {"cart_remove_item", Family::kUser},
        {"cart_restore", Family::kUser},
        {"cart_set_quantity", Family::kUser},
        {"live_event_emit", Family::kRoom},
        {"live_event_emit_once", Family::kRoom},
        {"cache_get", Family::kCacheScope},
        {"cache_put", Family::kCacheScope},
        {"rate_limit_gcra", Family::kRateLimit},
        {"stock_apply", Family::kStock},
        {"stock_due", Family::kStock},
        {"stock_load", Family::kStock},
        {"stock_reserve", Family::kStock},
        {"stock_settle", Family::kStock},
        {"stock_unload", Family::kStock},
        {"queue_add", Family::kQueue},
        {"queue_clean", Family::kQueue},
        {"queue_counts", Family::kQueue},
        {"queue_extend", Family::kQueue},
        {"queue_finish", Family::kQueue},
        {"queue_maintain", Family::kQueue},
        {"queue_pause", Family::kQueue},
        {"queue_release", Family::kQueue},
        {"queue_retry", Family::kQueue},
        {"queue_take", Family::kQueue},
    };
    return m;
}

/* ---- every key of one member of a family, from the real builders ---- */

std::vector<std::string> room_keys(const std::string& room) {
    return {live::stream_key(room), live::relayed_key(room), live::channel(room)};
}

std::vector<std::string> user_keys(const std::string& user) {
    auto token = auth::make_refresh_token(user);
    auto out = room_keys(live::user_room(user));
    for (auto k : {cart::cart_key(user), auth::refresh_token_key(user, token),
                   auth::refresh_generation_key(user), auth::not_before_key(user),
                   auth::password_reset_key(user)})
        out.push_back(k);
    return out;
}

std::vector<std::string> stock_keys() {
    return {orders::stock::kHoldsKey, orders::stock::hold_key("9d1c0e59-order"),
            orders::stock::book_key(1), orders::stock::book_key(987654321)};
}

std::vector<std::string> queue_keys(const std::string& name) {
    queue::QueueKeys k(name);
    return {k.seq,       k.wait,      k.delayed,  k.active,
            k.completed, k.failed,    k.waitdeps, k.dlq,
            k.marker,    k.meta,      k.rate,     k.limiter,
            k.repeat,    k.job("42"), k.job(""),  k.wake("worker-1")};
}

std::vector<std::string> cache_keys(const std::string& scope) {
    const std::string long_variant(300, 'q');  // hashed into the key
    return {cache::generation_key(scope), cache::value_key(scope, "list:page=1"),
            cache::value_key(scope, long_variant), cache::lock_key(scope, "list:page=1"),
            cache::lock_key(scope, long_variant)};
}

std::vector<std::string> rate_limit_keys(const std::string& identity) {
    return {ratelimit::key({"auth", 10, 60}, identity)};
}

std::vector<std::string> keys_of(Family f) {
    switch (f) {
        case Family::kUser:
            return user_keys(kUserA);
        case Family::kRoom:
            return room_keys(std::string(live::kAdminRoom));
        case Family::kStock:
            return stock_keys();
        case Family::kQueue:
            return queue_keys("orders");
        case Family::kCacheScope:
            return cache_keys(catalog::book_scope(42));
        case Family::kRateLimit:
            return rate_limit_keys("ip:2001:db8::1");
        case Family::kDirtyCarts:
            return {cart::kDirtyKey};
    }
    return {};
}

void expect_one_slot(const std::vector<std::string>& keys) {
    ASSERT_FALSE(keys.empty());
    for (const auto& k : keys)
        EXPECT_EQ(redis_slot::key_slot(k), redis_slot::key_slot(keys.front()))
            << k << " and " << keys.front() << " must share a hash tag";
}

std::string read(const fs::path& p) {
    std::ifstream f(p);
    if (!f) throw std::runtime_error("cannot read " + p.string());
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The source Redis runs: `--#include <name>` lines replaced by lua/lib/<name>.lua.
std::string expanded_source(const std::string& script) {
    std::istringstream in(read(fs::path(kLuaDir) / (script + ".lua")));
    std::string out, line;
    while (std::getline(in, line)) {
        if (line.rfind("--#include ", 0) == 0)
            out += read(fs::path(kLuaDir) / "lib" / (line.substr(11) + ".lua"));
        else
            out += line;
        out += '\n';
    }
    return out;
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
    return s;
}

bool starts_with(const std::string& s, const char* p) {
    return s.rfind(p, 0) == 0;
}

// Where the key (or channel) `arg` of a redis.call comes from; "" when it
// is allowed. `from_prefix` is set when it is built from the queue prefix.
std::string origin_problem(const std::string& source, const std::string& cmd,
                           const std::string& arg, bool& from_prefix) {
    const bool channel = cmd == "PUBLISH" || cmd == "SPUBLISH";
    if (starts_with(arg, "KEYS[")) return "";
    if (starts_with(arg, "prefix ..")) {
        from_prefix = true;
        return "";
    }
    if (starts_with(arg, "ARGV[")) return channel ? "" : "a key taken from ARGV";
    if (!std::regex_match(arg, std::regex(R"([A-Za-z_]\w*)")))
        return "a key built by the expression `" + arg + "`";
    std::regex def("(^|[^\\w.])" + arg + R"(\s*=\s*([^=\n][^\n]*))");
    bool any = false;
    for (std::sregex_iterator it(source.begin(), source.end(), def), end; it != end; ++it) {
        any = true;
        std::string rhs = trim((*it)[2].str());
        if (starts_with(rhs, "KEYS[")) continue;
        if (starts_with(rhs, "prefix ..")) {
            from_prefix = true;
            continue;
        }
        // live_emit's channel: the stream key with ":events" swapped for ":live".
        if (channel && starts_with(rhs, "string.sub(stream, 1, #stream - #':events') .. ':live'"))
            continue;
        return "`" + arg + " = " + rhs + "`";
    }
    if (any) return "";
    // Only a parameter of a function of the script: its callers pass KEYS.
    std::regex fn(R"(function\s*[\w.]*\s*\(([^)]*)\))");
    for (std::sregex_iterator it(source.begin(), source.end(), fn), end; it != end; ++it) {
        std::regex param("(^|[ ,])" + arg + "($|[ ,])");
        if (std::regex_search((*it)[1].str(), param)) return "";
    }
    return "`" + arg + "`, defined nowhere in the script";
}

}  // namespace

TEST(KeyLayout, EveryScriptHasAKeyFamily) {
    std::set<std::string> on_disk;
    for (const auto& e : fs::directory_iterator(kLuaDir))
        if (e.path().extension() == ".lua") on_disk.insert(e.path().stem().string());
    for (const auto& name : on_disk)
        EXPECT_TRUE(scripts().count(name))
            << "lua/" << name << ".lua is new: give it a key family in "
            << "tests/unit/key_layout_test.cpp (every key it touches shares one hash tag, "
            << "docs/redis-keys.md)";
    for (const auto& [name, family] : scripts())
        EXPECT_TRUE(on_disk.count(name)) << name << " is listed but lua/" << name << ".lua is gone";
}

TEST(KeyLayout, EveryFamilyMemberIsOneSlotAndItsScriptsAcceptItsKeys) {
    load_scripts(kLuaDir);
    for (const auto& [name, family] : scripts()) {
        SCOPED_TRACE(name);
        auto keys = keys_of(family);
        expect_one_slot(keys);
        EXPECT_NO_THROW(script_command(name, keys, {}));
    }
    expect_one_slot(user_keys(kUserB));
    expect_one_slot(room_keys(live::user_room(kUserB)));
    expect_one_slot(queue_keys("cart-persist"));
    expect_one_slot(cache_keys(catalog::kBooksScope));
    expect_one_slot(cache_keys(catalog::profile_scope(kUserA)));
}

TEST(KeyLayout, ScriptsRefuseKeysOfTwoSlots) {
    load_scripts(kLuaDir);
    EXPECT_THROW(
        script_command("cart_set_quantity",
                       {cart::cart_key(kUserA), live::stream_key(live::user_room(kUserB))}, {}),
        std::logic_error);
    EXPECT_THROW(script_command("stock_settle",
                                {orders::stock::kHoldsKey, queue::QueueKeys("orders").wait}, {}),
                 std::logic_error);
}

// The user's scripts and the live channel they publish on share the tag;
// a room's stream and its channel too (live_emit derives the channel).
TEST(KeyLayout, ChannelsPublishedFromScriptsAreInTheScriptsSlot) {
    const auto room = live::user_room(kUserA);
    EXPECT_EQ(key_tags::user(kUserA), "{" + room + "}");
    EXPECT_EQ(redis_slot::key_slot(live::channel(room)),
              redis_slot::key_slot(auth::not_before_key(kUserA)));
    auto stream = live::stream_key(live::kAdminRoom);
    EXPECT_EQ(stream.substr(0, stream.size() - std::string(":events").size()) + ":live",
              live::channel(live::kAdminRoom));
}

// Unrelated members and families do not pile onto one node.
TEST(KeyLayout, FamiliesAndMembersHaveTagsOfTheirOwn) {
    std::vector<std::string> tags;
    for (const auto& keys :
         {user_keys(kUserA), user_keys(kUserB), stock_keys(), queue_keys("orders"),
          queue_keys("mail"), cache_keys(catalog::book_scope(42)), cache_keys(catalog::kBooksScope),
          rate_limit_keys("ip:10.0.0.1"), rate_limit_keys("user:" + kUserA)})
        tags.emplace_back(redis_slot::hashed_part(keys.front()));
    tags.emplace_back(redis_slot::hashed_part(queue::kQueuesKey));
    tags.emplace_back(redis_slot::hashed_part(queue::kEventsKey));
    tags.emplace_back(redis_slot::hashed_part(cart::kDirtyKey));
    std::set<std::string> distinct(tags.begin(), tags.end());
    EXPECT_EQ(distinct.size(), tags.size());
    EXPECT_NE(redis_slot::key_slot(cart::cart_key(kUserA)),
              redis_slot::key_slot(cart::cart_key(kUserB)));
}

// Static scan: every key a script touches is KEYS[i], a function parameter
// (fed KEYS by its callers), or built from the queue prefix that
// queue_prefix() checks; a channel is ARGV (checked above) or live_emit's.
TEST(KeyLayout, KeysAScriptBuildsItselfStayInItsTag) {
    std::regex call(R"(redis\.p?call\(\s*'(\w+)'\s*,\s*([^,)]+))");
    for (const auto& [name, family] : scripts()) {
        SCOPED_TRACE(name);
        const std::string src = expanded_source(name);
        bool from_prefix = false;
        for (std::sregex_iterator it(src.begin(), src.end(), call), end; it != end; ++it) {
            std::string cmd = (*it)[1].str(), arg = trim((*it)[2].str());
            std::string problem = origin_problem(src, cmd, arg, from_prefix);
            EXPECT_EQ(problem, "") << name << ": " << cmd << " on a key not in KEYS: " << problem
                                   << " (pass it in KEYS, or derive it from a checked prefix)";
        }
        if (from_prefix) {
            EXPECT_EQ(family, Family::kQueue);
            EXPECT_NE(src.find("local prefix = queue_prefix()"), std::string::npos)
                << name << " builds keys from `prefix` without queue_prefix()'s check";
            std::regex assign(R"((^|[^\w.])prefix\s*=[^=])");
            auto n = std::distance(std::sregex_iterator(src.begin(), src.end(), assign),
                                   std::sregex_iterator());
            EXPECT_EQ(n, 1) << name << " assigns `prefix` more than once";
        }
    }
}

// Every key a queue script derives starts with the prefix it is given, and
// the prefix has the shape queue_prefix() accepts.
TEST(KeyLayout, QueuePrefixIsTheTagOfEveryQueueKey) {
    queue::QueueKeys k("image.variants-2");
    EXPECT_TRUE(std::regex_match(k.prefix, std::regex(R"(\{q:[^}]+\}:)")));
    for (const auto& key : queue_keys(k.name)) EXPECT_EQ(key.rfind(k.prefix, 0), 0u) << key;
}

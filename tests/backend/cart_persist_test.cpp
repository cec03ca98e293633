// The cart's durable copy against the stack's Postgres and Redis
// (shared/src/cart/cart_persist.cpp): snapshots applied twice or out of
// order never move Postgres backwards, and the job body run any number of
// times converges to the live cart.
#include <gtest/gtest.h>

#include "backend_env.hpp"
#include "bazaar/backends.hpp"
#include "bazaar/cart/cart_flush.hpp"
#include "bazaar/cart/cart_service.hpp"
#include "bazaar/time.hpp"

#include <chrono>
#include <thread>

using namespace bazaar;

namespace {

struct Fixture {
    Config config = stacktest::stack_config();
    Backends b{config};
    std::string user = uuid_v4();
    std::int64_t book1 = 0, book2 = 0;

    Fixture() {
        static bool loaded = [&] {
            load_scripts(config.lua_dir);
            return true;
        }();
        (void)loaded;
        // A well-formed argon2id string (the schema demands one) that no password verifies.
        b.pg.transact([&](pqxx::work& w) {
            w.exec_params(
                "INSERT INTO users (id, email, username, password_hash) VALUES ($1, $2, 'c', "
                "'$argon2id$v=19$m=65536,t=2,p=1$bm8tbG9naW4$bm8tbG9naW4')",
                user, "cart-" + user + "@example.com");
            book1 = w.exec1(
                         "INSERT INTO books (title, author, price_cents, stock) "
                         "VALUES ('Persist 1', 'A', 100, 5) RETURNING id")[0]
                        .as<std::int64_t>();
            book2 = w.exec1(
                         "INSERT INTO books (title, author, price_cents, stock) "
                         "VALUES ('Persist 2', 'A', 200, 5) RETURNING id")[0]
                        .as<std::int64_t>();
        });
    }

    // "version|book:qty,book:qty" of the Postgres copy.
    std::string stored() {
        return b.pg.transact([&](pqxx::work& w) {
            auto head = w.exec_params("SELECT version FROM carts WHERE user_id = $1", user);
            if (head.empty()) return std::string("none");
            std::string out = head[0][0].as<std::string>() + "|";
            for (const auto& row : w.exec_params("SELECT book_id, quantity FROM cart_items "
                                                 "WHERE user_id = $1 ORDER BY book_id",
                                                 user))
                out += row[0].as<std::string>() + ":" + row[1].as<std::string>() + ",";
            return out;
        });
    }
};

}  // namespace

TEST(CartPersist, SnapshotsTwiceOrOutOfOrderNeverGoBack) {
    Fixture f;
    cart::Snapshot v5{5, now_ms(), {{f.book1, 2}, {f.book2, 1}}};
    cart::Snapshot v3{3, now_ms(), {{f.book1, 9}}};
    cart::Snapshot v7{7, now_ms(), {{f.book2, 4}}};
    std::string b1 = std::to_string(f.book1), b2 = std::to_string(f.book2);

    EXPECT_TRUE(cart::write_snapshot(f.b.pg, f.user, v5));
    EXPECT_EQ(f.stored(), "5|" + b1 + ":2," + b2 + ":1,");
    EXPECT_FALSE(cart::write_snapshot(f.b.pg, f.user, v5));  // twice
    EXPECT_FALSE(cart::write_snapshot(f.b.pg, f.user, v3));  // late
    EXPECT_EQ(f.stored(), "5|" + b1 + ":2," + b2 + ":1,");
    EXPECT_TRUE(cart::write_snapshot(f.b.pg, f.user, v7));
    EXPECT_FALSE(cart::write_snapshot(f.b.pg, f.user, v5));
    EXPECT_EQ(f.stored(), "7|" + b2 + ":4,");
}

// The stack's worker runs the same jobs meanwhile, so a run here may find
// the work done already: what must hold is the state after each run, and
// that a second run never writes.
TEST(CartPersist, TheJobConvergesToTheLiveCartHoweverOftenItRuns) {
    Fixture f;
    EXPECT_EQ(cart::persist(f.b, f.user), cart::PersistOutcome::kNoLiveCart);
    EXPECT_EQ(f.stored(), "none");
    std::string b1 = std::to_string(f.book1), b2 = std::to_string(f.book2);
    auto twice = [&] {
        EXPECT_NE(cart::persist(f.b, f.user), cart::PersistOutcome::kNoLiveCart);
        EXPECT_EQ(cart::persist(f.b, f.user), cart::PersistOutcome::kUpToDate);
    };

    cart::set_quantity(f.b, f.user, {f.book1, 2});
    cart::set_quantity(f.b, f.user, {f.book2, 3});
    twice();
    EXPECT_EQ(f.stored(), "2|" + b1 + ":2," + b2 + ":3,");

    cart::remove_item(f.b, f.user, f.book1);
    twice();
    EXPECT_EQ(f.stored(), "3|" + b2 + ":3,");

    cart::clear(f.b, f.user);
    twice();
    EXPECT_EQ(f.stored(), "4|");
    EXPECT_EQ(cart::get(f.b, f.user).at("version"), 4);
}

TEST(CartPersist, ALostLiveCartIsRebuiltFromPostgres) {
    Fixture f;
    cart::set_quantity(f.b, f.user, {f.book1, 4});
    cart::persist(f.b, f.user);
    f.b.redis.command({"DEL", cart::cart_key(f.user)});
    auto c = cart::get(f.b, f.user);
    EXPECT_EQ(c.at("version"), 1);
    ASSERT_EQ(c.at("items").size(), 1u);
    EXPECT_EQ(c.at("items")[0].at("title"), "Persist 1");
    EXPECT_EQ(c.at("items")[0].at("quantity"), 4);
    EXPECT_EQ(c.at("totalCents"), 400);

    f.b.redis.command({"DEL", cart::cart_key(f.user)});
    auto change = cart::set_quantity(f.b, f.user, {f.book2, 1});
    EXPECT_EQ(change.cart.at("version"), 2);
    EXPECT_EQ(change.cart.at("items").size(), 2u);
}

/* ---- the write-behind flusher (bazaar/cart/cart_flush.hpp) ---- */

namespace {

// A dirty set of the test's own: the stack's worker flushes the product's
// set meanwhile, and must not take these marks.
struct FlushFixture : Fixture {
    std::string key = std::string(cart::kDirtyKey) + ":test-" + uuid_v4();
    ~FlushFixture() { b.redis.command({"DEL", key}); }
    void mark(const std::string& u) { b.redis.command({"ZADD", key, "0", u}); }
    std::string score(const std::string& u) {
        Reply r = b.redis.command({"ZSCORE", key, u});
        return r.is_nil() ? "none" : std::string(r.str());
    }
};

}  // namespace

TEST(CartFlush, AMarkedCartIsWrittenAndItsMarkDropped) {
    FlushFixture f;
    cart::set_quantity(f.b, f.user, {f.book1, 2});
    f.mark(f.user);
    auto round = cart::flush_dirty(f.b, 10, 10000, f.key);
    EXPECT_EQ(round.claimed, 1);
    EXPECT_EQ(f.stored(), "1|" + std::to_string(f.book1) + ":2,");
    EXPECT_EQ(f.score(f.user), "none");
    EXPECT_EQ(cart::flush_dirty(f.b, 10, 10000, f.key).claimed, 0);
}

// A change after the claim marks the cart again (score 0): the round that
// claimed it must leave that mark, or the change would never be written.
TEST(CartFlush, AChangeAfterTheClaimKeepsItsMark) {
    FlushFixture f;
    f.mark(f.user);
    Reply claimed = f.b.redis.eval_script("cart_dirty_claim", {f.key}, {"10", "10000"});
    ASSERT_EQ(claimed.at(1).size(), 1u);
    std::string claim = std::to_string(claimed.at(0).integer());
    EXPECT_EQ(f.score(f.user), claim);
    f.mark(f.user);  // the change
    EXPECT_EQ(f.b.redis.eval_script("cart_dirty_done", {f.key}, {claim, f.user}).integer(), 0);
    EXPECT_EQ(f.score(f.user), "0");
    // Untouched after its claim: dropped.
    claimed = f.b.redis.eval_script("cart_dirty_claim", {f.key}, {"10", "10000"});
    claim = std::to_string(claimed.at(0).integer());
    EXPECT_EQ(f.b.redis.eval_script("cart_dirty_done", {f.key}, {claim, f.user}).integer(), 1);
    EXPECT_EQ(f.score(f.user), "none");
}

// A flusher that dies after its claim: the marks are taken again once the
// lease has run out, never before.
TEST(CartFlush, ADeadFlushersClaimIsTakenAgainAfterItsLease) {
    FlushFixture f;
    f.mark(f.user);
    EXPECT_EQ(f.b.redis.eval_script("cart_dirty_claim", {f.key}, {"10", "300"}).at(1).size(), 1u);
    EXPECT_EQ(f.b.redis.eval_script("cart_dirty_claim", {f.key}, {"10", "300"}).at(1).size(), 0u);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_EQ(f.b.redis.eval_script("cart_dirty_claim", {f.key}, {"10", "300"}).at(1).size(), 1u);
}

// A user Postgres refuses (gone: the foreign key) costs the batch nothing:
// the others are written, that one goes to a cart-persist job.
TEST(CartFlush, ACartPostgresRefusesGoesToAJobAndTheOthersAreWritten) {
    FlushFixture f;
    const std::string ghost = uuid_v4();
    cart::set_quantity(f.b, f.user, {f.book1, 1});
    cart::set_quantity(f.b, ghost, {f.book2, 1});
    f.mark(f.user);
    f.mark(ghost);
    auto round = cart::flush_dirty(f.b, 10, 10000, f.key);
    EXPECT_EQ(round.claimed, 2);
    EXPECT_EQ(round.handed_to_jobs, 1);
    EXPECT_EQ(f.stored(), "1|" + std::to_string(f.book1) + ":1,");
    EXPECT_EQ(f.score(f.user), "none");
    EXPECT_EQ(f.score(ghost), "none");
    Reply job = f.b.redis.command({"EXISTS", "{q:cart-persist}:job:cart:" + ghost});
    EXPECT_EQ(job.integer(), 1);
}

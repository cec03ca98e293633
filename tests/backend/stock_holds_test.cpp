// Stock holds whose outcome the request could not know, against the stack's
// Postgres and Redis (shared/include/bazaar/orders/stock.hpp): the Redis
// counter must never end above what Postgres holds, because a counter that
// is too high admits orders that Postgres then refuses.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "backend_env.hpp"
#include "bazaar/backends.hpp"
#include "bazaar/cart/cart_service.hpp"
#include "bazaar/error.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/orders/stock.hpp"
#include "bazaar/time.hpp"

using namespace bazaar;
namespace stock = bazaar::orders::stock;

namespace {

struct Fixture {
    Config config = stacktest::stack_config();
    Backends b{config};
    std::int64_t book = 0;

    explicit Fixture(std::int64_t stock_count) {
        static bool loaded = [&] {
            load_scripts(config.lua_dir);
            return true;
        }();
        (void)loaded;
        book = b.pg.transact([&](pqxx::work& w) {
            return w
                .exec_params1(
                    "INSERT INTO books (title, author, price_cents, stock) "
                    "VALUES ('Hold test', 'A', 700, $1) RETURNING id",
                    stock_count)[0]
                .as<std::int64_t>();
        });
    }

    std::int64_t pg_stock() {
        return b.pg.transact([&](pqxx::work& w) {
            return w.exec_params1("SELECT stock FROM books WHERE id = $1", book)[0]
                .as<std::int64_t>();
        });
    }

    std::string new_user() {
        std::string id = uuid_v4();
        b.pg.transact([&](pqxx::work& w) {
            w.exec_params(
                "INSERT INTO users (id, email, username, password_hash) VALUES ($1, $2, 'h', "
                "'$argon2id$v=19$m=65536,t=2,p=1$bm8tbG9naW4$bm8tbG9naW4')",
                id, "hold-" + id + "@example.com");
        });
        return id;
    }

    // The counter's available stock, unless the stack's own worker has just
    // dropped the counter (its sweep drops every one now and then,
    // orders/stock.hpp; the next use reloads it from Postgres): then
    // `expected`, as the check has nothing to compare.
    std::int64_t available_or(std::int64_t expected) {
        return stock::available(b.redis, book).value_or(expected);
    }

    // A table whose rows make COMMIT take 1.5 s (a deferred trigger): a
    // transaction that inserts into test_slow_commit is slow exactly at its
    // COMMIT, as a loaded or frozen server is.
    void install_slow_commit() {
        b.pg.transact([&](pqxx::work& w) {
            w.exec(
                "CREATE TABLE IF NOT EXISTS test_slow_commit (id bigserial PRIMARY KEY);"
                "CREATE OR REPLACE FUNCTION test_slow_commit_sleep() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5); RETURN NULL; END $$;"
                "DROP TRIGGER IF EXISTS test_slow_commit_t ON test_slow_commit;"
                "CREATE CONSTRAINT TRIGGER test_slow_commit_t AFTER INSERT ON test_slow_commit "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "
                "test_slow_commit_sleep()");
        });
    }

    // Makes the hold of `order_id` due now, as if its lease had run out.
    void expire_lease(const std::string& order_id) {
        b.redis.command({"ZADD", "{stock}:holds", "0", order_id});
    }
};

}  // namespace

// The sweeper found no order rows (the request's transaction had not
// committed yet) and gave the stock back; then the order committed. Its
// commit must still take the stock from the counter.
TEST(StockHolds, ACommitAfterTheSweepCancelledItsHoldStillTakesTheStock) {
    Fixture f(5);
    const std::string order_id = uuid_v4();
    auto r = stock::reserve(f.b.pg, f.b.redis, order_id, {{f.book, 2}}, 60000);
    ASSERT_TRUE(r.shortages.empty());
    EXPECT_EQ(f.available_or(3), 3);

    f.expire_lease(order_id);
    stock::sweep_holds(f.b.pg, f.b.redis, 1000);
    EXPECT_EQ(f.available_or(5), 5) << "the sweep gave the hold back";

    std::vector<stock::Change> changes;
    f.b.pg.transact([&](pqxx::work& w) {
        auto take = stock::take_in_transaction(w, {{f.book, 2}});
        ASSERT_TRUE(take.shortages.empty());
        changes = take.changes;
    });
    stock::commit_hold(f.b.redis, order_id, r.hold, changes);
    EXPECT_EQ(f.pg_stock(), 3);
    EXPECT_EQ(f.available_or(3), 3) << "the late commit was not mirrored";

    // A second settle of either kind changes nothing.
    stock::commit_hold(f.b.redis, order_id, r.hold, changes);
    stock::cancel_hold(f.b.redis, order_id, r.hold);
    EXPECT_EQ(f.available_or(3), 3);
}

// The order's COMMIT outlives the request's deadline: a deferred trigger
// (a test table made here) sleeps at commit time, so the watchdog cuts the
// connection while COMMIT runs, and the server commits afterwards. The
// request cannot know the outcome, so it must not give the stock back; the
// sweep then finds the order and keeps the stock taken.
TEST(StockHolds, ACommitInDoubtLeavesItsHoldToTheSweepWhichFindsTheOrder) {
    Fixture f(4);
    f.install_slow_commit();
    std::string user = f.new_user();
    cart::set_quantity(f.b, user, {f.book, 3});

    std::string order_id;
    f.b.pg.set_timeout_ms(500);
    try {
        orders::create_from_cart(f.b, user, [&](pqxx::work& w, const orders::Order& o) {
            order_id = o.id;
            w.exec("INSERT INTO test_slow_commit DEFAULT VALUES");
        });
        FAIL() << "the checkout answered although its commit outlived the deadline";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    }
    f.b.pg.set_timeout_ms(f.config.pg_timeout_ms);
    ASSERT_FALSE(order_id.empty());
    EXPECT_TRUE(f.b.pg.commit_in_doubt());
    EXPECT_EQ(f.available_or(1), 1) << "the hold was given back";

    // The server finishes the commit once the trigger wakes (the dropped
    // connection's reconnect backoff may refuse the first reads).
    auto settled_stock = [&] {
        try {
            return f.pg_stock();
        } catch (const Error&) {
            return std::int64_t{-1};
        }
    };
    for (int i = 0; i < 100 && settled_stock() != 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(f.pg_stock(), 1) << "the order did not commit";
    f.expire_lease(order_id);
    stock::sweep_holds(f.b.pg, f.b.redis, 1000);
    EXPECT_EQ(f.available_or(1), 1) << "the sweep gave a committed order's stock back";
    EXPECT_TRUE(f.b.redis.command({"ZSCORE", "{stock}:holds", order_id}).is_nil());
}

// A checkout that surely did not commit (Postgres unavailable before COMMIT)
// gives its hold back at once: nothing to wait for.
TEST(StockHolds, AnUnavailableCheckoutBeforeCommitGivesItsHoldBackAtOnce) {
    Fixture f(4);
    std::string user = f.new_user();
    cart::set_quantity(f.b, user, {f.book, 3});
    try {
        orders::create_from_cart(f.b, user, [&](pqxx::work&, const orders::Order&) {
            throw Error::unavailable("database");
        });
        FAIL() << "the checkout succeeded";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    }
    EXPECT_FALSE(f.b.pg.commit_in_doubt());
    EXPECT_EQ(f.pg_stock(), 4);
    EXPECT_EQ(f.available_or(4), 4);
}

// The same checkout refused for a reason that is certain (here a conflict)
// gives its hold back at once.
TEST(StockHolds, ACheckoutThatSurelyFailedGivesItsHoldBackAtOnce) {
    Fixture f(4);
    std::string user = f.new_user();
    cart::set_quantity(f.b, user, {f.book, 3});
    EXPECT_THROW(orders::create_from_cart(f.b, user,
                                          [&](pqxx::work&, const orders::Order&) {
                                              throw Error(ErrorCode::kConflict, "test");
                                          }),
                 Error);
    EXPECT_EQ(f.available_or(4), 4);
}

// The sweep judged a hold whose order's COMMIT was still running (a slow
// commit: a deferred trigger sleeps in it, after the request's deadline
// cut its connection): it must wait for that COMMIT and find the order, not
// read "no order" and give the stock back (a counter above Postgres until
// the next reload: orders that Postgres then refuses).
TEST(StockHolds, TheSweepWaitsForACommitStillRunningBeforeJudgingItsHold) {
    Fixture f(4);
    f.install_slow_commit();
    std::string user = f.new_user();
    cart::set_quantity(f.b, user, {f.book, 3});

    std::string order_id;
    f.b.pg.set_timeout_ms(500);
    EXPECT_THROW(orders::create_from_cart(f.b, user,
                                          [&](pqxx::work& w, const orders::Order& o) {
                                              order_id = o.id;
                                              w.exec("INSERT INTO test_slow_commit DEFAULT VALUES");
                                          }),
                 Error);
    f.b.pg.set_timeout_ms(f.config.pg_timeout_ms);
    ASSERT_FALSE(order_id.empty());
    ASSERT_TRUE(f.b.pg.commit_in_doubt());

    // The sweep at once, on a connection of its own (the request's is in its
    // reconnect backoff), while the server still sleeps in the COMMIT.
    Backends sweeper(f.config);
    f.expire_lease(order_id);
    stock::sweep_holds(sweeper.pg, sweeper.redis, 1000);
    EXPECT_TRUE(f.b.redis.command({"ZSCORE", "{stock}:holds", order_id}).is_nil());

    auto pg_stock = [&] {
        return sweeper.pg.transact([&](pqxx::work& w) {
            return w.exec_params1("SELECT stock FROM books WHERE id = $1", f.book)[0]
                .as<std::int64_t>();
        });
    };
    for (int i = 0; i < 100 && pg_stock() != 1; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(pg_stock(), 1) << "the order did not commit";
    EXPECT_EQ(f.available_or(1), 1) << "the sweep gave a committing order's stock back";
}

// A release mirrored twice (a resent apply: a retried job, a repeated
// after-commit step) counts once; releases mirrored out of their commit
// order all count.
TEST(StockHolds, ApplyIsIdempotentPerBookAndStockSeq) {
    Fixture f(5);
    stock::load(f.b.pg, f.b.redis, {f.book});
    auto give_back = [&](std::int64_t q) {
        return f.b.pg.transact([&](pqxx::work& w) {
            return stock::give_back_in_transaction(w, {{f.book, q}});
        });
    };
    auto first = give_back(2);
    stock::apply(f.b.redis, first);
    stock::apply(f.b.redis, first);
    EXPECT_EQ(f.pg_stock(), 7);
    EXPECT_EQ(f.available_or(7), 7) << "a resent apply counted twice";

    auto second = give_back(1);
    auto third = give_back(1);
    stock::apply(f.b.redis, third);
    stock::apply(f.b.redis, second);
    stock::apply(f.b.redis, third);
    EXPECT_EQ(f.pg_stock(), 9);
    EXPECT_EQ(f.available_or(9), 9);
}

// What apply remembers is bounded: past its bound the counter is dropped
// (the next use reloads it from Postgres, always safe), never grown. (The
// changes that arrive while it is not loaded wait as pending changes, which
// expire with their hash: lua/lib/stock.lua.)
TEST(StockHolds, TheMemoryOfAppliedChangesIsBounded) {
    Fixture f(5);
    stock::load(f.b.pg, f.b.redis, {f.book});
    auto s =
        std::stoll(std::string(f.b.redis.command({"HGET", stock::book_key(f.book), "s"}).str()));
    std::vector<stock::Change> changes;
    for (int i = 1; i <= 1500; ++i) changes.push_back({f.book, s + i, 0});
    stock::apply(f.b.redis, changes);
    Reply fields = f.b.redis.command({"HKEYS", stock::book_key(f.book)});
    int marks = 0;
    for (std::size_t i = 0; i < fields.size(); ++i)
        if (fields.at(i).str().starts_with("d:")) ++marks;
    EXPECT_LE(marks, 1000);
}

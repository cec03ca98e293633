// The expiry backstop (orders::expire_overdue) against the stack's Postgres
// and Redis: one overdue order whose expiry fails for a reason of its own
// must not keep the others from expiring (the sweeper and the cleanup
// pipeline both run it; one poisoned order used to stall every expiry).
#include <gtest/gtest.h>

#include "backend_env.hpp"
#include "bazaar/backends.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/time.hpp"

using namespace bazaar;

namespace {

struct Fixture {
    Config config = stacktest::stack_config();
    Backends b{config};

    Fixture() {
        static bool loaded = [&] {
            load_scripts(config.lua_dir);
            return true;
        }();
        (void)loaded;
    }

    std::int64_t book(std::int64_t stock) {
        return b.pg.transact([&](pqxx::work& w) {
            return w
                .exec_params1(
                    "INSERT INTO books (title, author, price_cents, stock) "
                    "VALUES ('Expiry test', 'A', 700, $1) RETURNING id",
                    stock)[0]
                .as<std::int64_t>();
        });
    }

    // An unpaid order of one line, overdue by `overdue_s` seconds.
    std::string overdue_order(std::int64_t book_id, int overdue_s) {
        std::string user = uuid_v4(), order = uuid_v4();
        b.pg.transact([&](pqxx::work& w) {
            w.exec_params(
                "INSERT INTO users (id, email, username, password_hash) VALUES ($1, $2, 'e', "
                "'$argon2id$v=19$m=65536,t=2,p=1$bm8tbG9naW4$bm8tbG9naW4')",
                user, "expiry-" + user + "@example.com");
            w.exec_params(
                "INSERT INTO orders (id, user_id, status, total_cents, currency, expires_at) "
                "VALUES ($1, $2, 'PAYMENT_PENDING', 700, 'USD', "
                "now() - make_interval(secs => $3))",
                order, user, overdue_s);
            w.exec_params(
                "INSERT INTO order_items (order_id, book_id, title, unit_price_cents, quantity) "
                "VALUES ($1, $2, 'Expiry test', 700, 1)",
                order, book_id);
        });
        return order;
    }

    std::string status(const std::string& order) {
        return b.pg.transact([&](pqxx::work& w) {
            return w.exec_params1("SELECT status FROM orders WHERE id = $1", order)[0]
                .as<std::string>();
        });
    }

    void drop(const std::string& order) {
        b.pg.transact(
            [&](pqxx::work& w) { w.exec_params("DELETE FROM orders WHERE id = $1", order); });
    }
};

}  // namespace

TEST(OrderExpiry, AnOrderWhoseExpiryFailsIsSkippedAndTheOthersStillExpire) {
    Fixture f;
    // Giving its copy back would take books.stock past an integer: the
    // release fails, and with it that order's expiry, every time.
    std::string poisoned = f.overdue_order(f.book(2147483647), 3600 * 24 * 365);
    std::string healthy = f.overdue_order(f.book(5), 60);
    int expired = -1;
    EXPECT_NO_THROW(expired = orders::expire_overdue(f.b, 100000));
    EXPECT_GE(expired, 0);
    EXPECT_EQ(f.status(healthy), "EXPIRED");
    EXPECT_EQ(f.status(poisoned), "PAYMENT_PENDING");
    f.drop(poisoned);  // the stack's own sweeper would trip on it for good
}

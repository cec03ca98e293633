// The per-user limits of unpaid orders (issue 18 item 8, order_limits.hpp)
// and the smallest amount a provider charges (payments/amounts.hpp): the
// pure decisions create_from_cart applies in the order's transaction.
#include <gtest/gtest.h>

#include "bazaar/orders/order_limits.hpp"
#include "bazaar/payments/amounts.hpp"

using namespace bazaar;
using namespace bazaar::orders;

namespace {
const OrderLimits kLimits{3, 30, 10};
}

TEST(OrderLimits, WithinEveryLimit) {
    EXPECT_TRUE(check_limits(kLimits, {}, {{1, 10}, {2, 10}, {3, 10}}).empty());
    Held held{2, {{1, 5}, {2, 5}}};
    EXPECT_TRUE(check_limits(kLimits, held, {{1, 5}, {3, 10}}).empty());
}

TEST(OrderLimits, OpenOrders) {
    Held held{3, {{1, 1}}};
    auto b = check_limits(kLimits, held, {{2, 1}});
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].limit, "ORDER_MAX_OPEN_PER_USER");
    EXPECT_EQ(b[0].max, 3);
    EXPECT_EQ(b[0].held, 3);
}

TEST(OrderLimits, UnitsPerBookCountsWhatIsHeld) {
    Held held{1, {{7, 6}}};
    auto b = check_limits(kLimits, held, {{7, 5}, {8, 10}});
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].limit, "ORDER_MAX_UNITS_PER_BOOK");
    EXPECT_EQ(b[0].book_id, 7);
    EXPECT_EQ(b[0].held, 6);
    EXPECT_EQ(b[0].requested, 5);
    // one order alone may pass it too (two lines of one book are summed)
    auto one = check_limits(kLimits, {}, {{9, 6}, {9, 5}});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].requested, 11);
}

TEST(OrderLimits, UnitsPerUser) {
    Held held{1, {{1, 10}, {2, 10}, {3, 10}}};
    auto b = check_limits(kLimits, held, {{4, 1}});
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].limit, "ORDER_MAX_UNITS_PER_USER");
    EXPECT_EQ(b[0].held, 30);
    EXPECT_EQ(b[0].requested, 1);
}

TEST(OrderLimits, EveryBreachIsReported) {
    Held held{3, {{1, 10}, {2, 10}, {3, 10}}};
    auto b = check_limits(kLimits, held, {{1, 1}});
    ASSERT_EQ(b.size(), 3u);
    auto j = to_json(b);
    EXPECT_EQ(j[0]["limit"], "ORDER_MAX_OPEN_PER_USER");
    EXPECT_EQ(j[1]["limit"], "ORDER_MAX_UNITS_PER_USER");
    EXPECT_EQ(j[2]["limit"], "ORDER_MAX_UNITS_PER_BOOK");
    EXPECT_EQ(j[2]["bookId"], "1");
    EXPECT_FALSE(j[0].contains("bookId"));
}

TEST(MinimumCharge, StripesTable) {
    EXPECT_EQ(payments::minimum_charge("USD"), 50);
    EXPECT_EQ(payments::minimum_charge("EUR"), 50);
    EXPECT_EQ(payments::minimum_charge("GBP"), 30);
    EXPECT_EQ(payments::minimum_charge("JPY"), 50);
    EXPECT_EQ(payments::minimum_charge("HKD"), 400);
    EXPECT_EQ(payments::minimum_charge("XOF"), 50);  // not listed: the default
}

// The order status machine: the C++ table is the rule, migration 0005's
// order_transitions rows must be the same set (the trigger enforces those).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "bazaar/error.hpp"
#include "bazaar/orders/order_status.hpp"

using namespace bazaar;
using namespace bazaar::orders;

namespace {

std::set<std::pair<std::string, std::string>> cpp_table() {
    std::set<std::pair<std::string, std::string>> out;
    for (const auto& [f, t] : kTransitions)
        out.insert({std::string(status_name(f)), std::string(status_name(t))});
    return out;
}

}  // namespace

TEST(OrderStatus, MigrationTableMatchesCpp) {
    std::ifstream in(std::string(BAZAAR_SOURCE_DIR) + "/migrations/0005_orders.sql");
    ASSERT_TRUE(in) << "migrations/0005_orders.sql";
    std::stringstream ss;
    ss << in.rdbuf();
    std::string sql = ss.str();
    auto from = sql.find("INSERT INTO order_transitions");
    ASSERT_NE(from, std::string::npos);
    auto to = sql.find(';', from);
    std::string values = sql.substr(from, to - from);
    std::regex pair_re(R"(\('([A-Z_]+)',\s*'([A-Z_]+)'\))");
    std::set<std::pair<std::string, std::string>> sql_table;
    for (std::sregex_iterator it(values.begin(), values.end(), pair_re), end; it != end; ++it)
        sql_table.insert({(*it)[1].str(), (*it)[2].str()});
    EXPECT_EQ(sql_table, cpp_table());
    EXPECT_EQ(sql_table.size(), kTransitions.size());
}

TEST(OrderStatus, NamesRoundTrip) {
    for (Status s : kAllStatuses) EXPECT_EQ(parse_status(status_name(s)), s);
    EXPECT_FALSE(parse_status("paid"));
    EXPECT_FALSE(parse_status(""));
    EXPECT_FALSE(parse_status(std::string("PAID\0", 5)));
}

TEST(OrderStatus, ApiMachine) {
    EXPECT_TRUE(can_transition(Status::kPending, Status::kPaymentPending));
    EXPECT_TRUE(can_transition(Status::kPaymentPending, Status::kPaid));
    EXPECT_TRUE(can_transition(Status::kShipped, Status::kDelivered));
    EXPECT_TRUE(can_transition(Status::kPaymentPending, Status::kExpired));
    EXPECT_FALSE(can_transition(Status::kPaid, Status::kCancelled));
    EXPECT_FALSE(can_transition(Status::kDelivered, Status::kShipped));
    EXPECT_FALSE(can_transition(Status::kExpired, Status::kCancelled));
    EXPECT_FALSE(can_transition(Status::kCancelled, Status::kPaid));
    EXPECT_FALSE(can_transition(Status::kPaid, Status::kPaid));
    try {
        require_transition(Status::kCancelled, Status::kPaid);
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kInvalidTransition);
        EXPECT_EQ(e.http_status(), 409);
    }
}

TEST(OrderStatus, StockRules) {
    EXPECT_TRUE(releases_stock(Status::kExpired));
    EXPECT_TRUE(releases_stock(Status::kCancelled));
    EXPECT_TRUE(releases_stock(Status::kFailed));
    EXPECT_FALSE(releases_stock(Status::kRefundPending));
    EXPECT_TRUE(needs_reserve_again(Status::kExpired, Status::kPaid));
    EXPECT_FALSE(needs_reserve_again(Status::kPaymentPending, Status::kPaid));
    EXPECT_EQ(event_name(Status::kPaid), "order.paid");
    EXPECT_EQ(event_name(Status::kRefundPending), "order.refund_pending");
}

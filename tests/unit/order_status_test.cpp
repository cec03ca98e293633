// The order status machine: the C++ table is the rule, migration 0005's
// order_transitions rows must be the same set (the trigger enforces those).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
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

// Every migration's INSERT INTO order_transitions, in file order (0005 made
// the table, 0012 added the refund moves): together they must be kTransitions.
TEST(OrderStatus, MigrationTableMatchesCpp) {
    std::vector<std::filesystem::path> files;
    for (const auto& e :
         std::filesystem::directory_iterator(std::string(BAZAAR_SOURCE_DIR) + "/migrations"))
        if (e.path().extension() == ".sql") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::regex pair_re(R"(\('([A-Z_]+)',\s*'([A-Z_]+)'\))");
    std::set<std::pair<std::string, std::string>> sql_table;
    std::size_t rows = 0;
    for (const auto& f : files) {
        std::ifstream in(f);
        ASSERT_TRUE(in) << f;
        std::stringstream ss;
        ss << in.rdbuf();
        // statements only (at a line's start), not comments that name them
        std::string sql = "\n" + ss.str();
        const std::string stmt = "\nINSERT INTO order_transitions";
        for (auto from = sql.find(stmt); from != std::string::npos;
             from = sql.find(stmt, from + 1)) {
            auto to = sql.find(';', from);
            std::string values = sql.substr(from, to - from);
            for (std::sregex_iterator it(values.begin(), values.end(), pair_re), end; it != end;
                 ++it, ++rows)
                sql_table.insert({(*it)[1].str(), (*it)[2].str()});
        }
    }
    EXPECT_EQ(sql_table, cpp_table());
    EXPECT_EQ(rows, kTransitions.size()) << "a row inserted twice";
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
    EXPECT_TRUE(releases_stock(Status::kRefundPending));  // a paid order refunded before shipping
    EXPECT_FALSE(releases_stock(Status::kRefunded));
    EXPECT_FALSE(releases_stock(Status::kPaid));
    EXPECT_TRUE(needs_reserve_again(Status::kExpired, Status::kPaid));
    EXPECT_FALSE(needs_reserve_again(Status::kPaymentPending, Status::kPaid));
    EXPECT_EQ(event_name(Status::kPaid), "order.paid");
    EXPECT_EQ(event_name(Status::kRefundPending), "order.refund_pending");
}

// Issue 18 item 4: admins drive fulfilment and cancellation; only the
// provider's confirmed events (and the refund job, and the expiry) move money
// states. The whole table, both ways.
TEST(OrderStatus, AdminTransitionTable) {
    std::set<std::pair<Status, Status>> allowed = {
        {Status::kPaymentPending, Status::kCancelled},
        {Status::kPaid, Status::kFulfilling},
        {Status::kFulfilling, Status::kShipped},
        {Status::kShipped, Status::kDelivered},
        {Status::kPaid, Status::kRefundPending},
        {Status::kFulfilling, Status::kRefundPending},
        {Status::kShipped, Status::kRefundPending},
        {Status::kDelivered, Status::kRefundPending},
    };
    for (Status from : kAllStatuses)
        for (Status to : kAllStatuses) {
            bool admin = admin_can_transition(from, to);
            EXPECT_EQ(admin, allowed.count({from, to}) == 1)
                << status_name(from) << " -> " << status_name(to);
            // every admin move is a move of the machine
            if (admin) {
                EXPECT_TRUE(can_transition(from, to));
            }
        }
    // the moves the issue names
    EXPECT_FALSE(admin_can_transition(Status::kRefundPending, Status::kRefunded));
    EXPECT_FALSE(admin_can_transition(Status::kCancelled, Status::kRefundPending));
    EXPECT_FALSE(admin_can_transition(Status::kPaymentPending, Status::kPaid));
    EXPECT_FALSE(admin_can_transition(Status::kExpired, Status::kPaid));
    EXPECT_FALSE(admin_can_transition(Status::kRefunded, Status::kRefundFailed));
    for (Status to : {Status::kPaid, Status::kRefunded, Status::kRefundPending}) {
        try {
            require_admin_transition(Status::kCancelled, to);
            FAIL() << "no throw for " << status_name(to);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kInvalidTransition);
            EXPECT_NE(std::string(e.what()).find("an admin cannot"), std::string::npos) << e.what();
        }
    }
    EXPECT_NO_THROW(require_admin_transition(Status::kShipped, Status::kDelivered));
}

TEST(OrderStatus, RefundMoves) {
    EXPECT_TRUE(can_transition(Status::kPaid, Status::kRefundPending));
    EXPECT_TRUE(can_transition(Status::kFulfilling, Status::kRefundPending));
    EXPECT_TRUE(can_transition(Status::kShipped, Status::kRefundPending));
    EXPECT_TRUE(can_transition(Status::kDelivered, Status::kRefundPending));
    // a return: the shipped copies are not given back to the stock
    EXPECT_TRUE(releases_stock(Status::kPaid, Status::kRefundPending));
    EXPECT_FALSE(releases_stock(Status::kShipped, Status::kRefundPending));
    EXPECT_FALSE(releases_stock(Status::kDelivered, Status::kRefundPending));
    EXPECT_TRUE(can_transition(Status::kRefundPending, Status::kRefundFailed));
    EXPECT_TRUE(can_transition(Status::kRefunded, Status::kRefundFailed));
    EXPECT_FALSE(can_transition(Status::kRefundFailed, Status::kRefunded));
    EXPECT_EQ(parse_status("REFUND_FAILED"), Status::kRefundFailed);
    EXPECT_EQ(event_name(Status::kRefundFailed), "order.refund_failed");
}

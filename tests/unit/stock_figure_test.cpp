// The on-hand rule of absolute stock figures (catalog/stock_figure.hpp): the
// pure decision, and the "holds its copies" predicate tied to the order
// status machine so that a new status cannot leave it behind.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "bazaar/catalog/stock_figure.hpp"
#include "bazaar/orders/order_status.hpp"

using namespace bazaar;

TEST(StockFigure, TheFigureIsOnHandMinusHeldAndNeverBelowHeld) {
    EXPECT_EQ(catalog::free_to_sell(5, 0), 5);
    EXPECT_EQ(catalog::free_to_sell(5, 3), 2);
    EXPECT_EQ(catalog::free_to_sell(3, 3), 0);
    EXPECT_EQ(catalog::free_to_sell(2, 3), std::nullopt);
    EXPECT_EQ(catalog::free_to_sell(0, 1), std::nullopt);
    auto reason = catalog::below_held_reason(2, 3);
    EXPECT_NE(reason.find("2"), std::string::npos);
    EXPECT_NE(reason.find("3 copies held"), std::string::npos);
}

// An order holds its copies while its stock is taken (entering a status
// that releases it sets stock_released) and it may still ship: the statuses
// of kHoldingOrderSql are exactly those from which SHIPPED is reachable and
// that were not entered by releasing the stock.
TEST(StockFigure, HoldingStatusesAreThoseThatMayStillShipWithTheirStock) {
    using orders::Status;
    std::set<Status> may_ship{Status::kShipped};
    for (bool grew = true; grew;) {
        grew = false;
        for (const auto& [from, to] : orders::kTransitions)
            if (may_ship.count(to) && !may_ship.count(from)) grew = may_ship.insert(from).second;
    }
    std::set<std::string> expected;
    for (auto s : may_ship)
        if (s != Status::kShipped && !orders::releases_stock(s))
            expected.insert(std::string(orders::status_name(s)));

    std::string sql = catalog::kHoldingOrderSql;
    std::set<std::string> listed;
    std::regex word("'([A-Z_]+)'");
    for (std::sregex_iterator it(sql.begin(), sql.end(), word), end; it != end; ++it)
        listed.insert((*it)[1]);
    EXPECT_EQ(listed, expected);
    EXPECT_NE(sql.find("NOT o.stock_released"), std::string::npos);
}

// Migration 0013's partial index serves the count only while its predicate
// is the query's, word for word (without the alias).
TEST(StockFigure, ThePartialIndexHasTheHoldingPredicate) {
    std::ifstream in(std::string(BAZAAR_SOURCE_DIR) + "/migrations/0013_stock_holding_orders.sql");
    std::stringstream text;
    text << in.rdbuf();
    std::string predicate = std::regex_replace(catalog::kHoldingOrderSql, std::regex("o\\."), "");
    EXPECT_NE(text.str().find("WHERE " + predicate), std::string::npos) << predicate;
}

// The cart's input rules (shared/src/cart/cart_service.cpp): which bodies
// POST /api/v1/cart/items accepts, and which field each refusal names.
#include <gtest/gtest.h>

#include <algorithm>

#include "bazaar/cart/cart_service.hpp"
#include "bazaar/error.hpp"

using namespace bazaar;
using nlohmann::json;

namespace {
std::vector<std::string> issue_fields(const json& body) {
    try {
        cart::parse_set_quantity(body);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
        std::vector<std::string> out;
        for (const auto& d : e.details()) out.push_back(d.field);
        std::sort(out.begin(), out.end());
        return out;
    }
    return {"<accepted>"};
}
}  // namespace

TEST(CartInput, AcceptsABookIdStringAndAQuantityFrom1To10) {
    auto in = cart::parse_set_quantity({{"bookId", "42"}, {"quantity", 10}});
    EXPECT_EQ(in.book_id, 42);
    EXPECT_EQ(in.quantity, 10);
    EXPECT_EQ(cart::parse_set_quantity({{"bookId", "7"}, {"quantity", 1}}).quantity, 1);
}

TEST(CartInput, QuantityOutOfRangeOrNotAnIntegerNamesQuantity) {
    for (const json& q : {json(0), json(11), json(-1), json("2"), json(1.5), json(nullptr),
                          json(true), json::array(), json::object(), json(1e20)}) {
        EXPECT_EQ(issue_fields({{"bookId", "1"}, {"quantity", q}}),
                  std::vector<std::string>{"quantity"})
            << q.dump();
    }
}

TEST(CartInput, BookIdMustBeAPositiveIdStringAndNamesBookId) {
    for (const json& id : {json(42), json(""), json("0"), json("-1"), json("+1"), json(" 1"),
                           json("1 "), json("1.0"), json("abc"), json("99999999999999999999"),
                           json(std::string("1\0"
                                            "2",
                                            3)),
                           json("\xef\xbc\x91"), json(nullptr)}) {
        EXPECT_EQ(issue_fields({{"bookId", id}, {"quantity", 1}}),
                  std::vector<std::string>{"bookId"})
            << id.dump();
    }
}

TEST(CartInput, EveryProblemIsReportedAtOnceAndUnknownFieldsAreRefused) {
    EXPECT_EQ(issue_fields(json::object()), (std::vector<std::string>{"bookId", "quantity"}));
    EXPECT_EQ(issue_fields({{"bookId", "1"}, {"quantity", 1}, {"priceCents", 0}}),
              std::vector<std::string>{"priceCents"});
    EXPECT_THROW(cart::parse_set_quantity(json::array({1, 2})), Error);
    EXPECT_THROW(cart::parse_set_quantity(json("x")), Error);
}

TEST(CartInput, PathBookIds) {
    EXPECT_EQ(cart::parse_book_id("12"), 12);
    for (const char* bad : {"", "0", "-3", "1e3", "abc", "12x"})
        EXPECT_THROW(cart::parse_book_id(bad), Error) << bad;
}

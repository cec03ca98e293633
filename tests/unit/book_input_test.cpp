#include <gtest/gtest.h>

#include <algorithm>

#include "bazaar/catalog/book.hpp"
#include "bazaar/error.hpp"

using namespace bazaar::catalog;
using bazaar::Error;
using nlohmann::json;

namespace {
std::vector<std::string> issue_fields(const json& body, bool partial) {
    try {
        parse_book_input(body, partial);
    } catch (const Error& e) {
        std::vector<std::string> out;
        for (const auto& d : e.details()) out.push_back(d.field);
        std::sort(out.begin(), out.end());
        return out;
    }
    return {};
}

json valid() {
    return {{"title", "Dune"}, {"author", "Frank Herbert"}, {"priceCents", 1999}, {"stock", 3}};
}
}  // namespace

TEST(BookInput, ValidCreateWithDefaultsAndTags) {
    auto body = valid();
    body["tags"] = {"SciFi", " scifi ", "Classics"};
    auto in = parse_book_input(body, false);
    EXPECT_EQ(*in.title, "Dune");
    EXPECT_EQ(*in.price_cents, 1999);
    EXPECT_FALSE(in.currency);
    EXPECT_EQ(*in.tags, (std::vector<std::string>{"scifi", "classics"}));
}

TEST(BookInput, EveryBadFieldIsReportedAtOnce) {
    json body = {{"title", ""},  {"author", 5},       {"priceCents", -1},
                 {"stock", 1.5}, {"currency", "usd"}, {"isbn", "x"}};
    EXPECT_EQ(
        issue_fields(body, false),
        (std::vector<std::string>{"author", "currency", "isbn", "priceCents", "stock", "title"}));
}

TEST(BookInput, TypesAndRanges) {
    auto with = [](const char* k, json v) {
        auto b = valid();
        b[k] = std::move(v);
        return b;
    };
    EXPECT_EQ(issue_fields(with("priceCents", "100"), false),
              std::vector<std::string>{"priceCents"});
    EXPECT_EQ(issue_fields(with("priceCents", 1e12), false),
              std::vector<std::string>{"priceCents"});
    EXPECT_EQ(issue_fields(with("stock", -1), false), std::vector<std::string>{"stock"});
    EXPECT_EQ(issue_fields(with("stock", nullptr), false), std::vector<std::string>{"stock"});
    EXPECT_EQ(issue_fields(with("tags", "fiction"), false), std::vector<std::string>{"tags"});
    EXPECT_EQ(issue_fields(with("tags", json::array({"ok", 3})), false),
              std::vector<std::string>{"tags[1]"});
    EXPECT_EQ(issue_fields(with("tags", json::array({"  "})), false),
              std::vector<std::string>{"tags[0]"});
    EXPECT_EQ(issue_fields(with("title", std::string(301, 'x')), false),
              std::vector<std::string>{"title"});
    EXPECT_EQ(issue_fields(with("title", "a\x01b"), false), std::vector<std::string>{"title"});
    EXPECT_TRUE(issue_fields(with("priceCents", 0), false).empty());
}

TEST(BookInput, CreateNeedsTheRequiredFieldsPatchDoesNot) {
    EXPECT_EQ(issue_fields(json::object({{"title", "x"}}), false),
              (std::vector<std::string>{"author", "priceCents", "stock"}));
    auto patch = parse_book_input({{"stock", 0}}, true);
    EXPECT_EQ(*patch.stock, 0);
    EXPECT_FALSE(patch.title);
    EXPECT_FALSE(patch.tags);
    EXPECT_EQ(issue_fields(json::object(), true), std::vector<std::string>{"body"});
    auto clear = parse_book_input({{"tags", json::array()}}, true);
    ASSERT_TRUE(clear.tags);
    EXPECT_TRUE(clear.tags->empty()) << "an empty array clears the set";
}

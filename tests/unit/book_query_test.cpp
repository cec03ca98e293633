#include <gtest/gtest.h>

#include "bazaar/catalog/book.hpp"
#include "bazaar/catalog/book_query.hpp"
#include "bazaar/catalog/cursor.hpp"
#include "bazaar/error.hpp"

using namespace bazaar::catalog;
using bazaar::Error;

namespace {
const std::string kKey = "k";

std::string issue_field(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        EXPECT_EQ(e.http_status(), 400);
        return e.details().empty() ? "(none)" : e.details()[0].field;
    }
    return "(no error)";
}
}  // namespace

TEST(ListQuery, DefaultsAndBounds) {
    auto q = parse_list_query({}, kKey);
    EXPECT_EQ(q.limit, 20);
    EXPECT_FALSE(q.before_id);
    EXPECT_EQ(parse_list_query({{"limit", "100"}}, kKey).limit, 100);
    EXPECT_EQ(parse_list_query({{"limit", "1"}}, kKey).limit, 1);
    for (const char* bad : {"0", "101", "99999999999999999999", "-1", "1.5", "", "1a"})
        EXPECT_EQ(issue_field([&] { parse_list_query({{"limit", bad}}, kKey); }), "limit") << bad;
}

TEST(ListQuery, CursorIsBoundToTheFilters) {
    ListQuery a;
    a.tag = "fiction";
    std::string c = encode_cursor(77, a.filter(), kKey);
    EXPECT_EQ(*parse_list_query({{"tag", "Fiction"}, {"cursor", c}}, kKey).before_id, 77);
    EXPECT_EQ(issue_field([&] { parse_list_query({{"cursor", c}}, kKey); }), "cursor");
    EXPECT_EQ(issue_field([&] {
                  parse_list_query({{"tag", "x"}, {"cursor", c}}, kKey);
              }),
              "cursor");
}

TEST(ListQuery, FiltersAreValidated) {
    EXPECT_EQ(issue_field([] { parse_list_query({{"q", "ab"}}, kKey); }), "q");
    EXPECT_EQ(issue_field([] { parse_list_query({{"q", std::string(101, 'x')}}, kKey); }), "q");
    EXPECT_EQ(issue_field([] { parse_list_query({{"tag", ""}}, kKey); }), "tag");
    EXPECT_EQ(issue_field([] { parse_list_query({{"tag", "a\nb"}}, kKey); }), "tag");
    EXPECT_EQ(*parse_list_query({{"q", "  dune "}}, kKey).q, "dune");
    EXPECT_EQ(*parse_list_query({{"tag", " SciFi "}}, kKey).tag, "scifi");
}

TEST(Projection, FieldsAndIncludes) {
    auto p = parse_projection({{"fields", "title, priceCents,title,id"}, {"include", "tags"}});
    EXPECT_EQ(p.fields, (std::vector<std::string>{"priceCents", "title"}));
    EXPECT_TRUE(p.tags);
    EXPECT_FALSE(p.images);
    EXPECT_TRUE(p.wants("id"));
    EXPECT_TRUE(p.wants("title"));
    EXPECT_FALSE(p.wants("author"));
    EXPECT_TRUE(parse_projection({}).wants("author"));
    auto only_id = parse_projection({{"fields", "id"}});
    EXPECT_FALSE(only_id.wants("title"));
    EXPECT_EQ(issue_field([] { parse_projection({{"fields", "title,secret"}}); }), "fields");
    EXPECT_EQ(issue_field([] { parse_projection({{"fields", "tags"}}); }), "fields");
    EXPECT_EQ(issue_field([] { parse_projection({{"fields", ""}}); }), "fields");
    EXPECT_EQ(issue_field([] { parse_projection({{"include", "tags,author"}}); }), "include");
}

TEST(ListQuery, EquivalentQueriesShareOneCacheVariant) {
    auto a = parse_list_query({{"fields", "title,author"}, {"include", "images,tags"}}, kKey);
    auto b = parse_list_query(
        {{"include", "tags,images"}, {"utm_source", "x"}, {"fields", "author,title"}}, kKey);
    EXPECT_EQ(a.variant(), b.variant());
    auto c = parse_list_query({{"fields", "title"}}, kKey);
    EXPECT_NE(a.variant(), c.variant());
    // A value cannot imitate another parameter: lengths are part of the variant.
    auto d = parse_list_query({{"q", "abc;tag=x"}}, kKey);
    auto e = parse_list_query({{"q", "abc"}, {"tag", "x"}}, kKey);
    EXPECT_NE(d.variant(), e.variant());
}

TEST(BookToJson, SelectsFieldsAndRelations) {
    Book b;
    b.id = 7;
    b.title = "T";
    b.price_cents = 5;
    b.tags = {{3, "fiction"}};
    Projection p;
    p.fields = {"title"};
    p.tags = true;
    auto j = to_json(b, p);
    EXPECT_EQ(j.dump(), R"({"id":"7","tags":[{"id":"3","name":"fiction"}],"title":"T"})");
    EXPECT_EQ(to_json(b, Projection{}).size(), 10u);
}

TEST(Helpers, ParseIdAndLikePattern) {
    EXPECT_EQ(parse_id("42"), 42);
    for (const char* bad : {"0", "-1", "abc", "", "1e3", "99999999999999999999"})
        EXPECT_THROW(parse_id(bad), Error) << bad;
    EXPECT_EQ(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    EXPECT_EQ(normalize_tag("  Science Fiction "), "science fiction");
}

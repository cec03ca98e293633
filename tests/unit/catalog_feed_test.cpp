// Catalog import rows (pipelines/feed_reader.hpp) and ISBNs
// (catalog/isbn.hpp): check digits, canonical form, CSV and NDJSON rows
// validated by the catalog's rules with exact line numbers.
#include <gtest/gtest.h>

#include <sstream>

#include "bazaar/catalog/isbn.hpp"
#include "bazaar/pipelines/feed_reader.hpp"

using namespace bazaar;
using namespace bazaar::pipelines;

TEST(Isbn, ValidatesCheckDigitsAndCanonicalisesToIsbn13) {
    EXPECT_EQ(catalog::normalize_isbn("9780306406157"), "9780306406157");
    EXPECT_EQ(catalog::normalize_isbn("978-0-306-40615-7"), "9780306406157");
    EXPECT_EQ(catalog::normalize_isbn("0306406152"), "9780306406157") << "ISBN-10 → 13";
    EXPECT_EQ(catalog::normalize_isbn("0-8044-2957-X"), "9780804429573");
    EXPECT_EQ(catalog::normalize_isbn("080442957x"), "9780804429573");
    EXPECT_FALSE(catalog::normalize_isbn("9780306406158")) << "wrong check digit";
    EXPECT_FALSE(catalog::normalize_isbn("0306406153"));
    EXPECT_FALSE(catalog::normalize_isbn("9770306406157")) << "not a book prefix";
    EXPECT_FALSE(catalog::normalize_isbn("X306406152"));
    EXPECT_FALSE(catalog::normalize_isbn(""));
    EXPECT_FALSE(catalog::normalize_isbn("-9780306406157"));
    EXPECT_FALSE(catalog::normalize_isbn("9780306406157-"));
    EXPECT_FALSE(
        catalog::normalize_isbn(std::string("978030640615\0"
                                            "7",
                                            14)));
    EXPECT_FALSE(catalog::normalize_isbn("97803064061570"));
}

namespace {

struct Read {
    std::vector<FeedRow> rows;
    std::vector<BadRow> bad;
};

Read read(const std::string& text, const std::string& format) {
    std::istringstream in(text);
    auto feed = open_feed(in, format);
    Read out;
    std::optional<FeedRow> row;
    std::optional<BadRow> bad;
    while (feed->next(row, bad)) {
        if (row) out.rows.push_back(*row);
        if (bad) out.bad.push_back(*bad);
    }
    return out;
}

}  // namespace

TEST(FeedReader, FormatsByExtension) {
    EXPECT_EQ(feed_format("a.csv"), "csv");
    EXPECT_EQ(feed_format("a.ndjson"), "ndjson");
    EXPECT_EQ(feed_format("a.jsonl"), "ndjson");
    EXPECT_FALSE(feed_format("a.json"));
    EXPECT_FALSE(feed_format("csv"));
}

TEST(FeedReader, CsvRowsUseTheCatalogRulesAndReportLines) {
    auto r = read(
        "title,isbn,author,priceCents,stock,tags,currency\n"
        "Dune,9780306406157,Herbert,1299,5,sf|Classic,EUR\n"
        "\"Multi\nline\",0306406152,A,1,1,,\n"
        "Bad price,9780804429573,A,12.5,1,,\n"
        "No isbn check,9780306406158,A,1,1,,\n"
        "Too few,9780306406157\n"
        ",9780306406157,A,1,1,,\n",
        "csv");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].line, 2u);
    EXPECT_EQ(r.rows[0].isbn, "9780306406157");
    EXPECT_EQ(*r.rows[0].book.price_cents, 1299);
    EXPECT_EQ(*r.rows[0].book.currency, "EUR");
    EXPECT_EQ(*r.rows[0].book.tags, (std::vector<std::string>{"sf", "classic"}));
    ASSERT_EQ(r.bad.size(), 5u);
    // "Multi\nline": a title must be one printable line (the catalog's rule).
    EXPECT_EQ(r.bad[0].line, 3u);
    EXPECT_NE(r.bad[0].reason.find("title"), std::string::npos) << r.bad[0].reason;
    EXPECT_EQ(r.bad[1].line, 5u);
    EXPECT_NE(r.bad[1].reason.find("priceCents"), std::string::npos) << r.bad[1].reason;
    EXPECT_EQ(r.bad[2].line, 6u);
    EXPECT_NE(r.bad[2].reason.find("isbn"), std::string::npos);
    EXPECT_EQ(r.bad[3].line, 7u);
    EXPECT_NE(r.bad[3].reason.find("expected 7 fields, found 2"), std::string::npos);
    EXPECT_EQ(r.bad[4].line, 8u);
    EXPECT_NE(r.bad[4].reason.find("title"), std::string::npos);
}

TEST(FeedReader, CsvHeaderProblemsRefuseTheFile) {
    EXPECT_THROW(read("", "csv"), FeedError);
    EXPECT_THROW(read("isbn,title,author,priceCents\n", "csv"), FeedError) << "stock missing";
    EXPECT_THROW(read("isbn,title,author,priceCents,stock,color\n", "csv"), FeedError);
    EXPECT_THROW(read("isbn,title,author,priceCents,stock,stock\n", "csv"), FeedError);
}

TEST(FeedReader, NdjsonRowsReportBadJsonUnknownFieldsAndLongLines) {
    std::string longline = "{\"title\":\"" + std::string(kMaxRowBytes, 'x') + "\"}";
    auto r = read(
        "{\"isbn\":\"9780306406157\",\"title\":\"T\",\"author\":\"A\",\"priceCents\":1,\"stock\":2}"
        "\n"
        "\n"
        "{not json\n"
        "[1,2]\n"
        "{\"isbn\":\"9780306406157\",\"title\":\"T\",\"author\":\"A\",\"priceCents\":1,\"stock\":2,"
        "\"color\":\"red\"}\n" +
            longline +
            "\n"
            "{\"isbn\":9780306406157,\"title\":\"T\",\"author\":\"A\",\"priceCents\":1,\"stock\":2}"
            "\r\n"
            "{\"isbn\":\"0306406152\",\"title\":\"T2\",\"author\":\"A\",\"priceCents\":\"1\","
            "\"stock\":2}",
        "ndjson");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0].line, 1u);
    ASSERT_EQ(r.bad.size(), 6u);
    EXPECT_EQ(r.bad[0].line, 3u);
    EXPECT_EQ(r.bad[0].reason, "malformed JSON");
    EXPECT_EQ(r.bad[1].line, 4u);
    EXPECT_EQ(r.bad[1].reason, "must be a JSON object");
    EXPECT_EQ(r.bad[2].line, 5u);
    EXPECT_NE(r.bad[2].reason.find("color"), std::string::npos) << r.bad[2].reason;
    EXPECT_EQ(r.bad[3].line, 6u);
    EXPECT_NE(r.bad[3].reason.find("longer than"), std::string::npos);
    EXPECT_EQ(r.bad[4].line, 7u);
    EXPECT_NE(r.bad[4].reason.find("isbn"), std::string::npos) << "a number is not an ISBN string";
    EXPECT_EQ(r.bad[5].line, 8u);
    EXPECT_NE(r.bad[5].reason.find("priceCents"), std::string::npos);
}

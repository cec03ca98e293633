// The RFC 4180 reader (shared/include/bazaar/text/csv.hpp): quoting, line
// ends, line numbers, per-record errors that never lose the next record,
// the size cap, and the encoder's round trip.
#include <gtest/gtest.h>

#include <sstream>

#include "bazaar/text/csv.hpp"

using namespace bazaar::text;

namespace {

std::vector<CsvRecord> read_all(const std::string& text, std::size_t cap = 1 << 20) {
    std::istringstream in(text);
    CsvReader r(in, cap);
    std::vector<CsvRecord> out;
    CsvRecord rec;
    while (r.next(rec)) out.push_back(rec);
    return out;
}

using F = std::vector<std::string>;

}  // namespace

TEST(Csv, PlainRecordsWithLfCrlfAndNoFinalNewline) {
    auto r = read_all("a,b,c\r\n1,2,3\n4,,6");
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].fields, (F{"a", "b", "c"}));
    EXPECT_EQ(r[1].fields, (F{"1", "2", "3"}));
    EXPECT_EQ(r[2].fields, (F{"4", "", "6"}));
    EXPECT_EQ(r[2].line, 3u);
    for (const auto& x : r) EXPECT_EQ(x.error, "");
}

TEST(Csv, QuotedFieldsHoldCommasQuotesAndNewlinesAndLineNumbersCountThem) {
    auto r =
        read_all("h1,h2\n\"a,b\",\"say \"\"hi\"\"\"\n\"line1\nline2\r\nline3\",x\nlast,\"\"\n");
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[1].fields, (F{"a,b", "say \"hi\""}));
    EXPECT_EQ(r[1].line, 2u);
    EXPECT_EQ(r[2].fields, (F{"line1\nline2\r\nline3", "x"}));
    EXPECT_EQ(r[2].line, 3u);
    EXPECT_EQ(r[3].fields, (F{"last", ""}));
    EXPECT_EQ(r[3].line, 6u) << "the quoted newlines of record 3 are lines 4 and 5";
}

TEST(Csv, BlankLinesAreSkippedButAQuotedEmptyFieldIsARecord) {
    auto r = read_all("a\n\n\r\nb\n\"\"\n");
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0].fields, F{"a"});
    EXPECT_EQ(r[1].fields, F{"b"});
    EXPECT_EQ(r[1].line, 4u);
    EXPECT_EQ(r[2].fields, F{""});
}

TEST(Csv, ByteOrderMarkIsSkippedOnlyWhenComplete) {
    auto r = read_all("\xEF\xBB\xBFisbn,title\n");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].fields, (F{"isbn", "title"}));
    auto partial = read_all("\xEF\xBBx,y\n");
    ASSERT_EQ(partial.size(), 1u);
    EXPECT_EQ(partial[0].fields, (F{"\xEF\xBBx", "y"}));
}

TEST(Csv, MalformedRecordsAreReportedAndTheNextRecordIsIntact) {
    auto r = read_all("ok,1\nba\"d,2\n\"x\"y,3\ngood,4\n");
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].error, "");
    EXPECT_EQ(r[1].error, "quote inside an unquoted field");
    EXPECT_EQ(r[1].line, 2u);
    EXPECT_EQ(r[2].error, "characters after a closing quote");
    EXPECT_EQ(r[3].error, "");
    EXPECT_EQ(r[3].fields, (F{"good", "4"}));
    EXPECT_EQ(r[3].line, 4u);
}

TEST(Csv, UnterminatedQuoteRunsToTheEndAndSaysSo) {
    auto r = read_all("a,b\n\"open,c\nd,e\n");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[1].line, 2u);
    EXPECT_EQ(r[1].error, "quoted field not closed before the end of input");
}

TEST(Csv, RecordsOverTheCapAreRefusedWithoutKeepingTheirBytes) {
    std::string big(5000, 'x');
    auto r = read_all("small\n" + big + "\nafter\n", 100);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[1].error, "record longer than the size limit");
    EXPECT_LE(r[1].fields[0].size(), 100u);
    EXPECT_EQ(r[2].fields, F{"after"});
    EXPECT_EQ(r[2].line, 3u);
}

TEST(Csv, NulAndNonAsciiBytesAreData) {
    std::string text("a\0b,\xC3\xA9t\xC3\xA9\n", 10);
    auto r = read_all(text);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].fields[0], std::string("a\0b", 3));
    EXPECT_EQ(r[0].fields[1], "\xC3\xA9t\xC3\xA9");
}

TEST(Csv, EncodeRoundTrips) {
    const std::vector<F> cases = {{"plain", "x"},
                                  {"a,b", "q\"uote"},
                                  {"multi\nline", ""},
                                  {""},
                                  {"", ""},
                                  {"\r", "\r\n", " "},
                                  {std::string("\0", 1)},
                                  {"\xEF\xBB\xBFstarts with a BOM", "x"}};
    for (const auto& fields : cases) {
        auto r = read_all(csv_encode_record(fields) + "\n");
        ASSERT_EQ(r.size(), 1u) << csv_encode_record(fields);
        EXPECT_EQ(r[0].fields, fields);
        EXPECT_EQ(r[0].error, "");
    }
}

// Catalog feeds (shared/src/text/csv.cpp, shared/src/pipelines/feed_reader.cpp,
// shared/src/catalog/isbn.cpp): a feed file is outside bytes, read by the
// data.import job.
//
// Input: a selector byte, then either fields to encode or raw feed bytes.
// Properties:
//   - encode → read gives back exactly the fields, as one well-formed record;
//   - raw bytes never crash the reader; records come in line order, each
//     line within the lines read, no field over the size cap;
//   - as a CSV or NDJSON feed: only FeedError may escape (a bad header),
//     every row is a bad row or a valid one, lines strictly increase, and an
//     accepted row's ISBN is canonical (normalising it again is a no-op).
#include <fuzzer/FuzzedDataProvider.h>

#include <sstream>

#include "bazaar/catalog/isbn.hpp"
#include "bazaar/pipelines/feed_reader.hpp"
#include "bazaar/text/csv.hpp"
#include "fuzz_support.hpp"

using namespace bazaar;
using bazaar::fuzz::hex;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const auto mode = in.ConsumeIntegralInRange<int>(0, 3);
    if (mode == 0) {
        std::vector<std::string> fields;
        const auto n = in.ConsumeIntegralInRange<int>(1, 8);
        for (int i = 0; i < n; ++i) fields.push_back(in.ConsumeRandomLengthString(64));
        const std::string text = text::csv_encode_record(fields) + "\r\n";
        std::istringstream s(text);
        text::CsvReader r(s);
        text::CsvRecord rec;
        FUZZ_CHECK(r.next(rec), hex(text));
        FUZZ_CHECK(rec.error.empty() && rec.fields == fields && rec.line == 1, hex(text));
        FUZZ_CHECK(!r.next(rec), hex(text));
        return 0;
    }
    const std::string bytes = in.ConsumeRemainingBytesAsString();
    if (mode == 1) {
        std::istringstream s(bytes);
        text::CsvReader r(s, 256);
        text::CsvRecord rec;
        std::size_t last = 0;
        while (r.next(rec)) {
            FUZZ_CHECK(rec.line > last && rec.line <= r.lines() + 1, hex(bytes));
            std::size_t total = 0;
            for (const auto& f : rec.fields) total += f.size();
            FUZZ_CHECK(total <= 256, hex(bytes));
            last = rec.line;
        }
        return 0;
    }
    std::istringstream s(bytes);
    std::unique_ptr<pipelines::FeedReader> feed;
    try {
        feed = pipelines::open_feed(s, mode == 2 ? "csv" : "ndjson");
    } catch (const pipelines::FeedError&) {
        return 0;
    }
    std::optional<pipelines::FeedRow> row;
    std::optional<pipelines::BadRow> bad;
    std::size_t last = 0;
    while (feed->next(row, bad)) {
        FUZZ_CHECK(row.has_value() != bad.has_value(), hex(bytes));
        std::size_t line = row ? row->line : bad->line;
        FUZZ_CHECK(line > last, hex(bytes));
        last = line;
        if (row) {
            FUZZ_CHECK(catalog::normalize_isbn(row->isbn) == row->isbn, hex(bytes));
            FUZZ_CHECK(
                row->book.title && row->book.author && row->book.price_cents && row->book.stock,
                hex(bytes));
        } else {
            FUZZ_CHECK(!bad->reason.empty(), hex(bytes));
        }
    }
    return 0;
}

// Catalog feed rows (the data.import job, docs/pipelines.md "Catalog import"): a feed
// file read one row at a time, each row validated into an ISBN and a
// catalog::BookInput by the catalog's own rules (catalog::parse_book_input:
// the same lengths, prices and tags as POST /books), or refused with its
// line number and a reason. Nothing here touches Postgres.
//
// Formats, chosen by the file's extension:
//   .csv            RFC 4180 (text/csv.hpp), a header row naming the columns
//                   isbn,title,author,priceCents,stock (required) and
//                   description,currency,tags (optional), any order; tags
//                   are separated by '|'; an empty optional cell is "not
//                   given" except tags, where it means "no tags".
//   .ndjson/.jsonl  one JSON object per line, the fields of POST /books plus
//                   isbn. NDJSON rather than one JSON array: every record is
//                   a line, so it streams with a line reader (no SAX state
//                   machine), a broken record spoils only its line, and
//                   the line number of a bad row is exact.
// Rows are bounded (kMaxRowBytes); a longer one is a bad row, never memory.
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bazaar/catalog/book.hpp"

namespace bazaar::pipelines {

inline constexpr std::size_t kMaxRowBytes = 64 * 1024;

struct FeedRow {
    std::size_t line = 0;
    std::string isbn;  // canonical ISBN-13
    catalog::BookInput book;
};

// A row that could not be read or did not validate.
struct BadRow {
    std::size_t line = 0;
    std::string reason;
};

// The whole file is unusable (unknown format, bad CSV header): not a row problem.
class FeedError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class FeedReader {
  public:
    virtual ~FeedReader() = default;
    // Next row: true with `row` set, or with `bad` set (row refused); false at the end.
    virtual bool next(std::optional<FeedRow>& row, std::optional<BadRow>& bad) = 0;
    // Physical lines read so far.
    virtual std::size_t lines() const = 0;
};

// "csv" or "ndjson" for a file name, nullopt for anything else.
std::optional<std::string> feed_format(std::string_view file_name);

// Throws FeedError for an unknown format or (CSV) a bad header.
std::unique_ptr<FeedReader> open_feed(std::istream& in, const std::string& format);

// The catalog rules applied to one record already shaped as JSON (the
// fields of POST /books plus isbn): the row, or the reason it is refused.
std::optional<FeedRow> validate_row(nlohmann::json record, std::size_t line, std::string& reason);

}  // namespace bazaar::pipelines

// An RFC 4180 CSV reader that streams: one record at a time from an
// std::istream, never the whole input, so a feed of any size is read in
// memory bounded by the largest record (capped by `max_record_bytes`).
//
// Accepted: fields separated by ',', records ended by CRLF, LF or the end of
// input; a field in double quotes may hold ',', '"' (written "") and line
// breaks; a UTF-8 byte-order mark before the first record is skipped.
// Refused, per record and never fatal: a '"' inside an unquoted field,
// anything but ',' or a line end after a closing quote, a quote left open at
// the end of input, a record over the size cap. A refused record still ends
// where the grammar says it ends (its bad characters read as data), so the
// next record starts where a careful reader expects and line numbers stay
// true; the caller reports it with `error` and goes on.
// Blank lines (a record of one empty unquoted field) are skipped: feeds
// often end with one, and it is never a row.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

namespace bazaar::text {

struct CsvRecord {
    std::vector<std::string> fields;
    std::size_t line = 0;  // 1-based physical line where the record starts
    std::string error;     // empty when the record is well formed
};

class CsvReader {
  public:
    explicit CsvReader(std::istream& in, std::size_t max_record_bytes = 1 << 20)
        : in_(in), max_bytes_(max_record_bytes) {}

    // Reads the next record into `out`; false at the end of input.
    bool next(CsvRecord& out);
    // Physical lines consumed so far.
    std::size_t lines() const { return line_ - 1; }

  private:
    int get();
    int peek();

    std::istream& in_;
    std::size_t max_bytes_;
    std::size_t line_ = 1;
    bool started_ = false;
    std::string pending_;  // bytes of a partial byte-order mark, read as data
    std::size_t pending_pos_ = 0;
};

// One record as RFC 4180 text (quoted where needed), without the line end.
std::string csv_encode_record(const std::vector<std::string>& fields);

}  // namespace bazaar::text

#include "bazaar/pipelines/feed_reader.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include "bazaar/catalog/isbn.hpp"
#include "bazaar/error.hpp"
#include "bazaar/text/csv.hpp"

namespace bazaar::pipelines {

namespace {

std::string describe(const Error& e) {
    std::string out;
    for (const auto& d : e.details()) {
        if (!out.empty()) out += "; ";
        out += d.field + ": " + d.reason;
    }
    return out.empty() ? e.what() : out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Outside bytes quoted in a message (the job's result is JSON, which must be
// valid UTF-8): anything but printable ASCII becomes '?'.
std::string printable(std::string s) {
    for (auto& c : s)
        if (c < 0x20 || c > 0x7e) c = '?';
    return s;
}

/* ---- CSV ------------------------------------------------------------------ */

const std::vector<std::string> kColumns = {"isbn",  "title",       "author",   "priceCents",
                                           "stock", "description", "currency", "tags"};
constexpr std::size_t kRequiredColumns = 5;  // the first five above

class CsvFeed : public FeedReader {
  public:
    explicit CsvFeed(std::istream& in) : csv_(in, kMaxRowBytes) {
        text::CsvRecord header;
        if (!csv_.next(header)) throw FeedError("the CSV feed is empty (no header row)");
        if (!header.error.empty()) throw FeedError("bad CSV header: " + header.error);
        for (auto name : header.fields) {
            while (!name.empty() && (name.back() == ' ' || name.back() == '\r')) name.pop_back();
            while (!name.empty() && name.front() == ' ') name.erase(0, 1);
            if (std::find(kColumns.begin(), kColumns.end(), name) == kColumns.end())
                throw FeedError("unknown CSV column \"" + printable(name.substr(0, 40)) +
                                "\" (known: isbn,title,author,priceCents,stock,description,"
                                "currency,tags)");
            if (std::find(columns_.begin(), columns_.end(), name) != columns_.end())
                throw FeedError("CSV column \"" + printable(name) + "\" appears twice");
            columns_.push_back(name);
        }
        for (std::size_t i = 0; i < kRequiredColumns; ++i)
            if (std::find(columns_.begin(), columns_.end(), kColumns[i]) == columns_.end())
                throw FeedError("the CSV header lacks the column " + kColumns[i]);
    }

    bool next(std::optional<FeedRow>& row, std::optional<BadRow>& bad) override {
        row.reset();
        bad.reset();
        if (!csv_.next(rec_)) return false;
        std::string reason;
        if (!rec_.error.empty()) {
            reason = "malformed CSV: " + rec_.error;
        } else if (rec_.fields.size() != columns_.size()) {
            reason = "expected " + std::to_string(columns_.size()) + " fields, found " +
                     std::to_string(rec_.fields.size());
        } else {
            row = validate_row(to_json(), rec_.line, reason);
        }
        if (!row) bad = BadRow{rec_.line, reason};
        return true;
    }

    std::size_t lines() const override { return csv_.lines(); }

  private:
    nlohmann::json to_json() const {
        nlohmann::json j = nlohmann::json::object();
        for (std::size_t i = 0; i < columns_.size(); ++i) {
            const std::string& name = columns_[i];
            const std::string& v = rec_.fields[i];
            if (name == "priceCents" || name == "stock") {
                // A number when the cell is one, else the text itself, so
                // that the catalog's rule words the refusal.
                std::int64_t n = 0;
                auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
                if (!v.empty() && ec == std::errc() && p == v.data() + v.size())
                    j[name] = n;
                else
                    j[name] = v;
            } else if (name == "tags") {
                auto tags = nlohmann::json::array();
                std::size_t start = 0;
                while (!v.empty() && start <= v.size()) {
                    std::size_t bar = v.find('|', start);
                    if (bar == std::string::npos) bar = v.size();
                    tags.push_back(v.substr(start, bar - start));
                    start = bar + 1;
                }
                j[name] = std::move(tags);
            } else if (!v.empty() ||
                       std::find(kColumns.begin(), kColumns.begin() + kRequiredColumns, name) !=
                           kColumns.begin() + kRequiredColumns) {
                j[name] = v;
            }
        }
        return j;
    }

    text::CsvReader csv_;
    std::vector<std::string> columns_;
    text::CsvRecord rec_;
};

/* ---- NDJSON --------------------------------------------------------------- */

class NdjsonFeed : public FeedReader {
  public:
    explicit NdjsonFeed(std::istream& in) : buf_(in.rdbuf()) {}

    bool next(std::optional<FeedRow>& row, std::optional<BadRow>& bad) override {
        row.reset();
        bad.reset();
        for (;;) {
            if (!buf_) return false;
            std::string line;
            bool too_long = false;
            bool any = false;
            for (;;) {
                int c = buf_->sbumpc();
                if (c == std::char_traits<char>::eof()) break;
                any = true;
                if (c == '\n') break;
                if (line.size() >= kMaxRowBytes)
                    too_long = true;
                else
                    line += static_cast<char>(c);
            }
            if (!any) return false;
            std::size_t at = ++lines_;
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (at == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
            if (line.find_first_not_of(" \t") == std::string::npos && !too_long) continue;
            std::string reason;
            if (too_long) {
                reason = "row longer than " + std::to_string(kMaxRowBytes) + " bytes";
            } else {
                auto j = nlohmann::json::parse(line, nullptr, false);
                if (j.is_discarded())
                    reason = "malformed JSON";
                else if (!j.is_object())
                    reason = "must be a JSON object";
                else
                    row = validate_row(std::move(j), at, reason);
            }
            if (!row) bad = BadRow{at, reason};
            return true;
        }
    }

    std::size_t lines() const override { return lines_; }

  private:
    std::streambuf* buf_;
    std::size_t lines_ = 0;
};

}  // namespace

std::optional<std::string> feed_format(std::string_view name) {
    if (ends_with(name, ".csv")) return "csv";
    if (ends_with(name, ".ndjson") || ends_with(name, ".jsonl")) return "ndjson";
    return std::nullopt;
}

std::unique_ptr<FeedReader> open_feed(std::istream& in, const std::string& format) {
    if (format == "csv") return std::make_unique<CsvFeed>(in);
    if (format == "ndjson") return std::make_unique<NdjsonFeed>(in);
    throw FeedError("unknown feed format " + format);
}

std::optional<FeedRow> validate_row(nlohmann::json record, std::size_t line, std::string& reason) {
    std::string isbn_issue;
    std::optional<std::string> isbn;
    auto it = record.find("isbn");
    if (it == record.end()) {
        isbn_issue = "isbn: is required";
    } else {
        if (it->is_string()) isbn = catalog::normalize_isbn(it->get_ref<const std::string&>());
        if (!isbn) isbn_issue = "isbn: must be a valid ISBN-10 or ISBN-13 (check digit)";
        record.erase(it);
    }
    FeedRow row;
    row.line = line;
    try {
        row.book = catalog::parse_book_input(record, false);
    } catch (const Error& e) {
        reason = isbn_issue.empty() ? describe(e) : isbn_issue + "; " + describe(e);
        return std::nullopt;
    }
    if (!isbn) {
        reason = isbn_issue;
        return std::nullopt;
    }
    row.isbn = std::move(*isbn);
    return row;
}

}  // namespace bazaar::pipelines

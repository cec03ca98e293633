#include "bazaar/text/csv.hpp"

namespace bazaar::text {

// Straight from the stream buffer: istream::get's sentry per byte would
// dominate the import's parse time.
int CsvReader::get() {
    if (pending_pos_ < pending_.size()) return static_cast<unsigned char>(pending_[pending_pos_++]);
    auto* buf = in_.rdbuf();
    if (!buf) return EOF;
    int c = buf->sbumpc();
    return c == std::char_traits<char>::eof() ? EOF : c;
}

int CsvReader::peek() {
    if (pending_pos_ < pending_.size()) return static_cast<unsigned char>(pending_[pending_pos_]);
    auto* buf = in_.rdbuf();
    if (!buf) return EOF;
    int c = buf->sgetc();
    return c == std::char_traits<char>::eof() ? EOF : c;
}

bool CsvReader::next(CsvRecord& out) {
    if (!started_) {
        started_ = true;
        const std::string bom = "\xEF\xBB\xBF";
        auto* buf = in_.rdbuf();
        while (buf && pending_.size() < 3 &&
               buf->sgetc() == static_cast<unsigned char>(bom[pending_.size()]))
            pending_ += static_cast<char>(buf->sbumpc());
        if (pending_ == bom) pending_.clear();  // otherwise read as data
    }
    for (;;) {
        out.fields.assign(1, std::string());
        out.error.clear();
        out.line = line_;
        if (peek() == EOF) return false;

        enum class State { kFieldStart, kUnquoted, kQuoted, kAfterQuote } st = State::kFieldStart;
        std::size_t bytes = 0;
        bool any_quoted = false;
        auto fail = [&](const char* why) {
            if (out.error.empty()) out.error = why;
        };
        auto put = [&](char c) {
            if (++bytes > max_bytes_) {
                fail("record longer than the size limit");
                return;
            }
            out.fields.back() += c;
        };
        for (;;) {
            int c = get();
            if (c == EOF) {
                if (st == State::kQuoted) fail("quoted field not closed before the end of input");
                break;
            }
            if (st == State::kQuoted) {
                if (c == '"') {
                    if (peek() == '"') {
                        get();
                        put('"');
                    } else {
                        st = State::kAfterQuote;
                    }
                } else {
                    if (c == '\n') ++line_;
                    put(static_cast<char>(c));
                }
                continue;
            }
            if (c == '\r' && peek() == '\n') continue;  // CRLF: the LF ends the record
            if (c == '\n') {
                ++line_;
                break;
            }
            if (c == ',') {
                out.fields.emplace_back();
                st = State::kFieldStart;
                continue;
            }
            if (c == '"') {
                if (st == State::kFieldStart) {
                    st = State::kQuoted;
                    any_quoted = true;
                    continue;
                }
                fail(st == State::kUnquoted ? "quote inside an unquoted field"
                                            : "quote after a closing quote");
            } else if (st == State::kAfterQuote) {
                fail("characters after a closing quote");
            }
            if (st == State::kFieldStart) st = State::kUnquoted;
            put(static_cast<char>(c));
        }
        bool blank = out.fields.size() == 1 && out.fields[0].empty() && !any_quoted;
        if (!blank || !out.error.empty()) return true;
    }
}

std::string csv_encode_record(const std::vector<std::string>& fields) {
    std::string out;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        const std::string& f = fields[i];
        // An empty single field must be quoted too, or the record reads as a blank line.
        // A first field starting with a byte-order mark is quoted too, or a
        // reader would take the mark for the file's own and drop it
        // (found by the csv fuzz target).
        bool quote = f.find_first_of(",\"\r\n") != std::string::npos ||
                     (fields.size() == 1 && f.empty()) ||
                     (i == 0 && f.rfind("\xEF\xBB\xBF", 0) == 0);
        if (!quote) {
            out += f;
            continue;
        }
        out += '"';
        for (char c : f) {
            if (c == '"') out += '"';
            out += c;
        }
        out += '"';
    }
    return out;
}

}  // namespace bazaar::text

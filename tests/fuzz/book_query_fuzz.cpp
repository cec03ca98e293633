// Catalog list queries (shared/src/catalog/book_query.cpp): the whole query
// string of GET /books, parsed as bazaar-fcgi does (http::parse_query), then
// limit, cursor, tag, q, fields= and include=.
//
// Properties: refusals are 400s that render; an accepted query has a limit
// in 1..100, a canonical tag and trimmed q of the allowed lengths, sorted
// unique known fields; unknown parameters never change the cache variant;
// a cursor issued for the parsed query is accepted back by the parser with
// its id; the same id path parses to itself; like_pattern escapes exactly
// the LIKE metacharacters.
#include <algorithm>

#include "bazaar/catalog/book_query.hpp"
#include "bazaar/catalog/cursor.hpp"
#include "bazaar/json_input.hpp"
#include "fuzz_support.hpp"
#include "http.hpp"

using namespace bazaar;
using namespace bazaar::catalog;
using bazaar::fuzz::hex;

namespace {

const std::string kKey = "fuzz-cursor-key-0123456789abcdef";

std::string unlike(std::string_view p) {
    std::string out;
    for (std::size_t i = 1; i + 1 < p.size(); ++i) {
        if (p[i] == '\\') ++i;
        out += p[i];
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    auto params = http::parse_query(s);
    if (!params) return 0;
    const std::string ctx = hex(s);

    for (const auto& kv : *params) {
        const std::string& v = kv.second;
        std::int64_t id = 0;
        if (fuzz::accepts([&] { id = parse_id(v); })) {
            // Decimal digits only; leading zeros name the same id (API.md
            // says nothing against them, and the cache keys by the number).
            const auto digits = v.find_first_not_of('0');
            FUZZ_CHECK(
                id >= 1 && digits != std::string::npos && std::to_string(id) == v.substr(digits),
                ctx);
        }
        std::string p = like_pattern(v);
        FUZZ_CHECK(unlike(p) == v, ctx);
    }

    ListQuery q;
    if (!fuzz::accepts([&] { q = parse_list_query(*params, kKey); })) return 0;
    FUZZ_CHECK(q.limit >= 1 && q.limit <= kMaxLimit, ctx);
    if (q.tag) {
        FUZZ_CHECK(normalize_tag(*q.tag) == *q.tag, ctx);
        FUZZ_CHECK(utf8_length(*q.tag) >= 1 && utf8_length(*q.tag) <= 50, ctx);
        FUZZ_CHECK(is_clean_text(*q.tag, false) && fuzz::strict_utf8(*q.tag), ctx);
    }
    if (q.q) {
        FUZZ_CHECK(utf8_length(*q.q) >= 3 && utf8_length(*q.q) <= 100, ctx);
        FUZZ_CHECK(is_clean_text(*q.q, false) && fuzz::strict_utf8(*q.q), ctx);
        FUZZ_CHECK(q.q->front() != ' ' && q.q->back() != ' ', ctx);
    }
    if (q.before_id) FUZZ_CHECK(*q.before_id >= 1, ctx);
    const auto& fields = q.projection.fields;
    FUZZ_CHECK(std::is_sorted(fields.begin(), fields.end()), ctx);
    FUZZ_CHECK(std::adjacent_find(fields.begin(), fields.end()) == fields.end(), ctx);
    for (const auto& f : fields) {
        FUZZ_CHECK(std::find(book_fields().begin(), book_fields().end(), f) != book_fields().end(),
                   ctx);
        FUZZ_CHECK(f != "id" || fields.size() == 1, ctx);
    }

    // Unknown parameters (cache busters) do not change the variant.
    auto extra = *params;
    extra.emplace_back("utm_source", "x");
    extra.emplace(extra.begin(), "_", std::string(s.substr(0, 20)));
    ListQuery q2;
    FUZZ_CHECK(fuzz::accepts([&] { q2 = parse_list_query(extra, kKey); }), ctx);
    FUZZ_CHECK(q2.variant() == q.variant(), ctx);

    // The next page's cursor, put in place of the current one, is accepted.
    auto next = *params;
    std::erase_if(next, [](const auto& kv) { return kv.first == "cursor"; });
    next.emplace_back("cursor", encode_cursor(42, q.filter(), kKey));
    ListQuery q3;
    FUZZ_CHECK(fuzz::accepts([&] { q3 = parse_list_query(next, kKey); }), ctx);
    FUZZ_CHECK(q3.before_id == 42 && q3.filter() == q.filter(), ctx);
    return 0;
}

// JSON request bodies of the catalog's write routes: POST /books (create)
// and PATCH /books/:id (partial), through Request::json() and
// catalog::parse_book_input (shared/src/catalog/book.cpp, json_input.cpp).
//
// Input: one byte (bit 0: partial), then the body.
// Properties: a refusal is a 400 whose body renders; an accepted body
// satisfies every rule of API.md §3 (lengths in code points, printable
// UTF-8, ranges, ISO currency, normalised unique tags), a create has every
// required field, and parsing is a pure function of the JSON value: the
// accepted body, dumped and parsed again, gives the same input.
#include "bazaar/catalog/book.hpp"
#include "bazaar/json_input.hpp"
#include "fuzz_support.hpp"
#include "http.hpp"

using namespace bazaar;
using bazaar::fuzz::hex;

namespace {

void check_text(const std::optional<std::string>& s, std::size_t min, std::size_t max,
                bool newlines, const std::string& ctx) {
    if (!s) return;
    std::size_t n = utf8_length(*s);
    FUZZ_CHECK(n >= min && n <= max, ctx);
    FUZZ_CHECK(is_clean_text(*s, newlines) && fuzz::strict_utf8(*s), ctx);
}

bool same(const catalog::BookInput& a, const catalog::BookInput& b) {
    return a.title == b.title && a.author == b.author && a.description == b.description &&
           a.price_cents == b.price_cents && a.currency == b.currency && a.stock == b.stock &&
           a.tags == b.tags;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const bool partial = data[0] & 1;
    http::Request req;
    req.content_type = "application/json";
    req.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);

    catalog::BookInput b;
    const nlohmann::json* body = nullptr;
    bool ok = fuzz::accepts([&] {
        body = &req.json();
        b = catalog::parse_book_input(*body, partial);
    });
    if (!ok) return 0;
    const std::string ctx = hex(req.body);

    check_text(b.title, 1, 300, false, ctx);
    check_text(b.author, 1, 200, false, ctx);
    check_text(b.description, 0, 10000, true, ctx);
    if (b.price_cents) FUZZ_CHECK(*b.price_cents >= 0 && *b.price_cents <= 100'000'000, ctx);
    if (b.stock) FUZZ_CHECK(*b.stock >= 0 && *b.stock <= 1'000'000, ctx);
    if (b.currency) {
        FUZZ_CHECK(b.currency->size() == 3, ctx);
        for (char c : *b.currency) FUZZ_CHECK(c >= 'A' && c <= 'Z', ctx);
    }
    if (b.tags) {
        FUZZ_CHECK(b.tags->size() <= 20, ctx);
        for (std::size_t i = 0; i < b.tags->size(); ++i) {
            const auto& t = (*b.tags)[i];
            FUZZ_CHECK(catalog::normalize_tag(t) == t, ctx);
            check_text(t, 1, 50, false, ctx);
            for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK((*b.tags)[j] != t, ctx);
        }
    }
    if (!partial) FUZZ_CHECK(b.title && b.author && b.price_cents && b.stock, ctx);
    if (partial) FUZZ_CHECK(!body->empty(), ctx);
    // Only known fields get through.
    for (const auto& [k, v] : body->items()) {
        static const char* known[] = {"title",    "author", "description", "priceCents",
                                      "currency", "stock",  "tags"};
        bool found = false;
        for (const char* f : known) found = found || k == f;
        FUZZ_CHECK(found, ctx);
    }

    auto again = catalog::parse_book_input(nlohmann::json::parse(body->dump()), partial);
    FUZZ_CHECK(same(b, again), ctx);
    return 0;
}

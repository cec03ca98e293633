// The cart's request side: input rules, the live cart in Redis (lua/cart_*.lua,
// layout in lua/lib/cart.lua), the book lookup through the read cache, the
// rebuild from Postgres and the request for a durable write. The design is in
// bazaar/cart/cart_service.hpp; the job side is cart_persist.cpp.
#include <charconv>
#include <limits>
#include <map>

#include "bazaar/cache/invalidation_listener.hpp"
#include "bazaar/cart/cart_flush.hpp"
#include "bazaar/cart/cart_service.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/catalog_service.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/key_tags.hpp"
#include "bazaar/log.hpp"
#include "bazaar/orders/stock.hpp"
#include "bazaar/queue/producer.hpp"

namespace bazaar::cart {

namespace {

std::string events_key(const std::string& user_id) {
    return live::stream_key(live::user_room(user_id));
}

// CART_MAX_LINES; a Config built by hand (0) means no limit.
std::int64_t max_lines(const Backends& b) {
    return b.config.cart_max_lines > 0 ? b.config.cart_max_lines
                                       : std::numeric_limits<std::int32_t>::max();
}

/* ---- input ---- */

bool parse_positive(std::string_view text, std::int64_t& out) {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && text.front() != '+' && ec == std::errc() &&
           p == text.data() + text.size() && out >= 1;
}

/* ---- the book, through the read cache ---- */

struct CartBook {
    std::string title;
    std::int64_t price_cents = 0;
    std::string currency;
    std::int64_t stock = 0;
};

// The same cache entry as GET /api/v1/books/:id without a query (so the two
// share one body and one invalidation); a 404 is not cached.
CartBook find_book(Backends& b, std::int64_t id, const cache::Piggyback* piggyback) {
    catalog::Projection all;
    cache::Entry entry{catalog::book_scope(id), all.variant(), b.config.cache_ttl_books_s};
    auto result = cache::get_or_load(
        b.redis, entry, cache::process_options(b.config),
        [&] {
            auto book = catalog::find_book(b.pg, id, all);
            if (!book) throw Error::not_found("book");
            return R"({"success":true,"data":)" + catalog::to_json(*book, all).dump() + "}";
        },
        piggyback);
    auto data = nlohmann::json::parse(result.body).at("data");
    return {data.at("title").get<std::string>(), data.at("priceCents").get<std::int64_t>(),
            data.at("currency").get<std::string>(), data.at("stock").get<std::int64_t>()};
}

/* ---- rebuild from Postgres ---- */

// Loads the durable copy into Redis unless a live cart appeared meanwhile.
// At most CART_MAX_LINES lines (the first by book id): a copy written before
// the limit, or under a higher one, must not bring back a cart that no change
// could build; the next change's snapshot then drops the rest from Postgres.
void restore(Backends& b, const std::string& user_id) {
    std::vector<std::string> args;
    b.pg.transact([&](pqxx::work& w) {
        // The version goes on from the highest one ever ordered as well: a
        // cart whose durable copy is gone (idle carts are purged) or behind
        // must never count through a version an order consumed, or its
        // checkout would be refused as CART_ALREADY_ORDERED.
        auto head = w.exec_params1(
            "SELECT GREATEST(COALESCE(c.version, 0), "
            "  COALESCE((SELECT max(cart_version) FROM orders WHERE user_id = $1), 0)), "
            "COALESCE((extract(epoch FROM c.updated_at) * 1000)::bigint, 0), c.user_id IS NULL "
            "FROM (SELECT 1) AS one LEFT JOIN carts c ON c.user_id = $1",
            user_id);
        args = {head[0].as<std::string>(), head[1].as<std::string>()};
        if (head[2].as<bool>()) return;  // no durable copy: an empty cart
        // Deleted books are dropped here: what the client sees never lists them.
        auto lines = w.exec_params(
            "SELECT i.book_id, i.quantity, b.title, b.price_cents, b.currency "
            "FROM cart_items i JOIN books b ON b.id = i.book_id AND b.deleted_at IS NULL "
            "WHERE i.user_id = $1 ORDER BY i.book_id LIMIT $2",
            user_id, max_lines(b));
        for (const auto& row : lines)
            for (int c = 0; c < 5; ++c) args.push_back(row[c].as<std::string>());
    });
    if (b.redis.eval_script("cart_restore", {cart_key(user_id)}, args).integer() == 1)
        log::info("cart rebuilt from postgres", {{"userId", user_id}, {"version", args[0]}});
}

/* ---- changes ---- */

// Runs one change script and marks the cart for the write-behind of its
// durable copy (bazaar/cart/cart_flush.hpp). Returns the script's reply;
// {-1} (cart not loaded) is handled here by a rebuild from Postgres and a
// second try.
//
// The mark must land after the change, or a flusher could read the cart
// between the two and never see the change. One Redis: both go in one
// pipeline on one connection, so the mark follows the script in the same
// round trip. A cluster: the cart ({u:<id>}) and the set ({carts}) live on
// different nodes with no order between them, so the mark follows the
// change's reply (one round trip more), and only when the change asks for
// it (`need`: no write pending since the last snapshot was read).
Reply run_change(Backends& b, const std::string& user_id, const std::string& script,
                 const std::vector<std::string>& args, std::size_t need_at) {
    const bool mark_in_pipeline = !b.redis.is_cluster();
    const RedisArgs mark = mark_dirty_command(user_id);
    std::vector<std::string> keys{cart_key(user_id), events_key(user_id)};
    for (int attempt = 0;; ++attempt) {
        RedisArgs change = script_command(script, keys, args);
        // (pipeline() returns a NOSCRIPT reply where command() would throw)
        auto replies =
            mark_in_pipeline ? b.redis.pipeline({change, mark}) : b.redis.pipeline({change});
        Reply r = replies[0];
        bool marked = mark_in_pipeline && !replies[1].is_error();
        if (is_noscript(r)) {
            r = b.redis.eval_script(script, keys, args);
            marked = false;  // the mark went before the change
        }
        // (an outage reply, e.g. OOM at maxmemory, is a 503 like a closed socket)
        if (r.is_error()) throw_reply_error(r);
        std::int64_t code = r.at(0).integer();
        if (code == -1) {
            if (attempt > 0) throw Error::unavailable("cart");
            restore(b, user_id);
            continue;
        }
        if (code == 1 && !marked && (mark_in_pipeline || r.at(need_at).integer() == 1))
            b.redis.command(mark);
        return r;
    }
}

nlohmann::json cart_of(const Reply& r, std::size_t at) {
    return nlohmann::json::parse(r.at(at).str());
}

// What the catalog (Postgres) says of the cart's lines now: books deleted
// since they were added, and lines whose price or currency is no longer the
// catalog's (API.md §4: the cart's prices are the current ones whenever the
// cart is returned, so what the client sees is what checkout charges).
struct StaleLines {
    std::vector<std::int64_t> gone;
    std::vector<SetQuantity> repriced;
};

StaleLines stale_lines(Backends& b, const nlohmann::json& cart) {
    StaleLines out;
    const auto& items = cart.at("items");
    if (items.empty()) return out;
    std::string ids = "{";
    for (const auto& item : items)
        ids += (ids.size() > 1 ? "," : "") + item.at("bookId").get<std::string>();
    ids += "}";
    std::map<std::int64_t, std::pair<std::int64_t, std::string>> current;
    b.pg.transact([&](pqxx::work& w) {
        current.clear();
        auto rows = w.exec_params(
            "SELECT id, price_cents, currency FROM books "
            "WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL",
            ids);
        for (const auto& row : rows)
            current[row[0].as<std::int64_t>()] = {row[1].as<std::int64_t>(),
                                                  row[2].as<std::string>()};
    });
    const std::string cart_currency = cart.value("currency", std::string());
    for (const auto& item : items) {
        std::int64_t id = std::stoll(item.at("bookId").get<std::string>());
        auto it = current.find(id);
        if (it == current.end()) {
            out.gone.push_back(id);
        } else if (it->second.first != item.at("priceCents").get<std::int64_t>() ||
                   (!cart_currency.empty() && it->second.second != cart_currency)) {
            out.repriced.push_back({id, item.at("quantity").get<std::int64_t>()});
        }
    }
    return out;
}

}  // namespace

std::string cart_key(std::string_view user_id) {
    return key_tags::user(user_id) + ":cart";
}

queue::JobOptions persist_options(const std::string& user_id) {
    queue::JobOptions o;
    o.job_id = "cart:" + user_id;
    o.attempts = 8;
    o.backoff = {queue::Backoff::Type::kExponential, 500};
    o.remove_on_complete.count = 0;  // a finished job never blocks the next add
    o.remove_on_fail.age_s = 7 * 86400;
    o.remove_on_fail.count = 10000;
    return o;
}

SetQuantity parse_set_quantity(const nlohmann::json& body) {
    if (!body.is_object())
        throw Error(ErrorCode::kValidationFailed, "the body must be a JSON object");
    JsonInput in(body, {"bookId", "quantity"});
    SetQuantity out;
    auto it = body.find("bookId");
    if (it == body.end()) {
        in.add_issue("bookId", "is required");
    } else if (!it->is_string() ||
               !parse_positive(it->get_ref<const std::string&>(), out.book_id)) {
        in.add_issue("bookId", "must be a book id string such as \"42\"");
    }
    auto q = in.integer("quantity", {.min = 1, .max = kMaxQuantity});
    in.finish();
    out.quantity = *q;
    return out;
}

std::int64_t parse_book_id(std::string_view text) {
    std::int64_t id = 0;
    if (!parse_positive(text, id)) throw Error::validation("bookId", "must be a positive integer");
    return id;
}

namespace {

// How a line is set: a client's change is clamped to the live stock; a
// repricing keeps the quantity the client chose (it only takes the current
// price: lowering a quantity unasked would be a change without `adjusted`;
// checkout then reports any shortage as OUT_OF_STOCK).
enum class Clamp { kToStock, kKeepQuantity };

// One line set from the catalog (the rest of the cart untouched).
Change set_line(Backends& b, const std::string& user_id, const SetQuantity& in,
                const cache::Piggyback* piggyback, Clamp clamp = Clamp::kToStock) {
    // Clamp to the live availability (API.md §4), not the cached figure: the
    // book's stock counter counts the checkouts in flight too. A counter not
    // loaded (no checkout of the book since the last reload) means no hold
    // either, and the cached figure is what Postgres committed: every stock
    // change invalidates it (catalog::stock_changed). The counter is read in
    // the book lookup's round trip, beside the route's rate limit.
    cache::Piggyback with_counter;
    if (piggyback) with_counter.commands = piggyback->commands;
    const std::size_t counter_at = with_counter.commands.size();
    with_counter.commands.push_back(orders::stock::available_command(in.book_id));
    std::optional<Reply> counter;
    with_counter.on_replies = [&](const std::vector<Reply>& replies) {
        if (piggyback && piggyback->on_replies)
            piggyback->on_replies(
                replies.size() > counter_at
                    ? std::vector<Reply>(replies.begin(),
                                         replies.begin() + static_cast<std::ptrdiff_t>(counter_at))
                    : replies);
        if (replies.size() > counter_at) counter = replies[counter_at];
    };
    CartBook book = find_book(b, in.book_id, &with_counter);
    // (no reply: Redis was down for the lookup; the change's script says so)
    if (auto live = counter ? orders::stock::available_of(*counter)
                            : orders::stock::available(b.redis, in.book_id))
        book.stock = *live;
    if (clamp == Clamp::kKeepQuantity) book.stock = std::max(book.stock, in.quantity);
    std::vector<std::string> args{std::to_string(in.book_id),
                                  std::to_string(in.quantity),
                                  std::to_string(std::max<std::int64_t>(book.stock, 0)),
                                  book.title,
                                  std::to_string(book.price_cents),
                                  book.currency,
                                  std::to_string(kMaxQuantity),
                                  std::to_string(max_lines(b))};
    Reply r = run_change(b, user_id, "cart_set_quantity", args, 2);
    switch (r.at(0).integer()) {
        case 0:
            throw Error(ErrorCode::kOutOfStock, "the book is out of stock")
                .with_raw_details(nlohmann::json::array({{{"bookId", std::to_string(in.book_id)},
                                                          {"requested", in.quantity},
                                                          {"available", 0}}})
                                      .dump());
        case -2:
            throw Error(ErrorCode::kConflict, "the cart holds books priced in " +
                                                  std::string(r.at(1).str()) +
                                                  "; this book is priced in " + book.currency);
        case -3: {
            // API.md §4: 409 CONFLICT naming `items` (CART_MAX_LINES).
            std::string limit = std::to_string(r.at(1).integer());
            throw Error(ErrorCode::kConflict,
                        "the cart is full: it holds at most " + limit +
                            " different books; remove one before adding another",
                        {{"items", "at most " + limit + " different books per cart"}});
        }
        default:
            break;
    }
    Change c{cart_of(r, 4), {}};
    std::int64_t granted = r.at(1).integer();
    if (granted != in.quantity) c.adjusted.push_back({in.book_id, in.quantity, granted});
    return c;
}

// The lines other than `except` whose price or currency the read cache says
// is no longer the catalog's (a price change invalidates the book's entry;
// with the near cache a hit costs no round trip). A book gone from the
// catalog is left to GET, which drops its line.
std::vector<SetQuantity> repriced_lines(Backends& b, const nlohmann::json& cart,
                                        std::int64_t except) {
    std::vector<SetQuantity> out;
    const std::string currency = cart.value("currency", std::string());
    for (const auto& item : cart.at("items")) {
        std::int64_t id = std::stoll(item.at("bookId").get<std::string>());
        if (id == except) continue;
        try {
            CartBook book = find_book(b, id, nullptr);
            if (book.price_cents != item.at("priceCents").get<std::int64_t>() ||
                (!currency.empty() && book.currency != currency))
                out.push_back({id, item.at("quantity").get<std::int64_t>()});
        } catch (const Error& e) {
            if (e.code() != ErrorCode::kNotFound) throw;
        }
    }
    return out;
}

// Sets each line again from the catalog; returns the cart after the last
// one (or `cart` when none could be set). A line that cannot be set (sold
// out, another currency than the rest) keeps its old price, and checkout
// refuses it with PRICE_CHANGED rather than charge what was not shown.
nlohmann::json set_lines_again(Backends& b, const std::string& user_id,
                               const std::vector<SetQuantity>& lines, nlohmann::json cart) {
    for (const auto& line : lines) {
        try {
            cart = set_line(b, user_id, line, nullptr, Clamp::kKeepQuantity).cart;
        } catch (const Error& e) {
            if (e.code() == ErrorCode::kUnavailable) throw;
            log::warn("cart line not repriced",
                      {{"userId", user_id}, {"bookId", line.book_id}, {"error", e.what()}});
        }
    }
    return cart;
}

}  // namespace

nlohmann::json get(Backends& b, const std::string& user_id, Prices prices) {
    std::vector<std::string> keys{cart_key(user_id)};
    Reply r = b.redis.eval_script("cart_read", keys, {});
    if (r.is_nil()) {
        restore(b, user_id);
        r = b.redis.eval_script("cart_read", keys, {});
        if (r.is_nil()) throw Error::unavailable("cart");
    }
    auto cart = nlohmann::json::parse(r.str());
    auto stale = stale_lines(b, cart);
    for (auto id : stale.gone) {
        try {
            cart = remove_item(b, user_id, id);
        } catch (const Error& e) {
            if (e.code() != ErrorCode::kNotFound) throw;  // another request removed it first
        }
    }
    // A line set again takes the catalog's price (set_quantity reads the book
    // through the read cache, which a price change invalidated). A line that
    // cannot be set (sold out, another currency than the rest) keeps its old
    // price here; checkout refuses it with PRICE_CHANGED rather than charge
    // what the client was not shown.
    if (prices == Prices::kAsShown) return cart;
    return set_lines_again(b, user_id, stale.repriced, std::move(cart));
}

// API.md §4: the cart's prices are the catalog's current ones whenever the
// cart is returned, so the other lines are checked too (GET checks them
// against Postgres itself).
Change set_quantity(Backends& b, const std::string& user_id, const SetQuantity& in,
                    const cache::Piggyback* piggyback) {
    Change c = set_line(b, user_id, in, piggyback);
    auto stale = repriced_lines(b, c.cart, in.book_id);
    c.cart = set_lines_again(b, user_id, stale, std::move(c.cart));
    return c;
}

nlohmann::json remove_item(Backends& b, const std::string& user_id, std::int64_t book_id) {
    Reply r = run_change(b, user_id, "cart_remove_item", {std::to_string(book_id)}, 1);
    if (r.at(0).integer() == 0) throw Error::not_found("cart item");
    auto cart = cart_of(r, 3);
    auto stale = repriced_lines(b, cart, book_id);
    return set_lines_again(b, user_id, stale, std::move(cart));
}

nlohmann::json clear(Backends& b, const std::string& user_id) {
    return cart_of(run_change(b, user_id, "cart_clear", {}, 1), 3);
}

bool clear_if_version(Backends& b, const std::string& user_id, std::int64_t version) {
    return run_change(b, user_id, "cart_clear", {std::to_string(version)}, 1).at(0).integer() == 1;
}

}  // namespace bazaar::cart

#include "bazaar/orders/order_service.hpp"

#include <limits>
#include <map>
#include <set>

#include "bazaar/cart/cart_service.hpp"
#include "bazaar/catalog/book_query.hpp"
#include "bazaar/catalog/catalog_service.hpp"
#include "bazaar/catalog/cursor.hpp"
#include "bazaar/error.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/events/live_outbox.hpp"
#include "bazaar/idempotency/idempotency.hpp"
#include "bazaar/log.hpp"
#include "bazaar/mail/mail_jobs.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/orders/order_limits.hpp"
#include "bazaar/payments/amounts.hpp"
#include "bazaar/payments/payment_service.hpp"
#include "bazaar/pg_array.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/time.hpp"
#include "bazaar/uuid.hpp"

namespace bazaar::orders {

namespace {

#define BAZAAR_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

// clang-format off
constexpr const char* kOrderColumns =
    "id::text, user_id::text, status, total_cents, currency, "
    BAZAAR_TS("expires_at") ", payment_provider, payment_intent_id, stock_released, "
    BAZAAR_TS("created_at") ", " BAZAAR_TS("updated_at") ", seq";
// clang-format on

std::optional<std::string> opt_text(const pqxx::field& f) {
    if (f.is_null()) return std::nullopt;
    return f.as<std::string>();
}

Order order_of(const pqxx::row& r) {
    Order o;
    o.id = r[0].as<std::string>();
    o.user_id = r[1].as<std::string>();
    o.status = parse_status(r[2].as<std::string>()).value_or(Status::kPending);
    o.total_cents = r[3].as<std::int64_t>();
    o.currency = r[4].as<std::string>();
    o.expires_at = opt_text(r[5]);
    o.payment_provider = opt_text(r[6]);
    o.payment_intent_id = opt_text(r[7]);
    o.stock_released = r[8].as<bool>();
    o.created_at = r[9].as<std::string>();
    o.updated_at = r[10].as<std::string>();
    o.seq = r[11].as<std::int64_t>();
    return o;
}

void load_items(pqxx::work& w, std::vector<Order>& orders) {
    if (orders.empty()) return;
    std::map<std::string, Order*> by_id;
    std::vector<std::string> ids;
    for (auto& o : orders) {
        by_id[o.id] = &o;
        ids.push_back(o.id);
    }
    auto rows = exec_prepared(
        w,
        "SELECT order_id::text, book_id, title, unit_price_cents, quantity FROM order_items "
        "WHERE order_id = ANY($1::uuid[]) ORDER BY order_id, book_id",
        pg_array(ids));
    for (const auto& r : rows)
        by_id[r[0].as<std::string>()]->items.push_back(
            {r[1].as<std::int64_t>(), r[2].as<std::string>(), r[3].as<std::int64_t>(),
             r[4].as<std::int64_t>()});
}

Error out_of_stock(const std::vector<stock::Shortage>& shortages) {
    nlohmann::json details = nlohmann::json::array();
    for (const auto& s : shortages)
        details.push_back({{"bookId", std::to_string(s.book_id)},
                           {"requested", s.requested},
                           {"available", s.available}});
    return Error(ErrorCode::kOutOfStock, "not enough stock for every line of the cart")
        .with_raw_details(details.dump());
}

// The live event of an order, in the order's transaction (outbox).
void emit_in(pqxx::work& w, const Order& o, const std::string& event,
             const nlohmann::json& extra = nlohmann::json::object()) {
    nlohmann::json data = {
        {"orderId", o.id}, {"status", status_name(o.status)}, {"order", to_json(o)}};
    for (const auto& [k, v] : extra.items()) data[k] = v;
    live::add_in_transaction(w, live::user_room(o.user_id), event, data.dump(), "order:" + o.id);
}

// Which status changes email the customer: the one rule, whatever path
// (webhook, job, admin, sweep) makes the move. The job id of the mail is
// per order and kind, so a retried move sends once.
std::optional<mail::OrderMail> mail_on_entering(Status s) {
    switch (s) {
        case Status::kPaid:
            return mail::OrderMail::kConfirmation;
        case Status::kShipped:
            return mail::OrderMail::kShipped;
        case Status::kExpired:
            return mail::OrderMail::kExpired;
        case Status::kRefunded:
            return mail::OrderMail::kRefunded;
        default:
            return std::nullopt;
    }
}

std::string canonical_order_id(const std::string& id) {
    auto c = canonical_uuid(id);
    if (!c) throw Error::not_found("order");
    return *c;
}

}  // namespace

nlohmann::json to_json(const Order& o) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& i : o.items)
        items.push_back({{"bookId", std::to_string(i.book_id)},
                         {"title", i.title},
                         {"unitPriceCents", i.unit_price_cents},
                         {"quantity", i.quantity}});
    nlohmann::json payment = nullptr;
    if (o.payment_provider || o.payment_intent_id)
        payment = {
            {"provider", o.payment_provider ? nlohmann::json(*o.payment_provider) : nullptr},
            {"intentId", o.payment_intent_id ? nlohmann::json(*o.payment_intent_id) : nullptr}};
    return {{"id", o.id},
            {"status", status_name(o.status)},
            {"items", std::move(items)},
            {"totalCents", o.total_cents},
            {"currency", o.currency},
            {"expiresAt", o.expires_at ? nlohmann::json(*o.expires_at) : nullptr},
            {"payment", std::move(payment)},
            {"createdAt", o.created_at},
            {"updatedAt", o.updated_at}};
}

/* ---- checkout ---- */

namespace {

// An order answers for its Idempotency-Key as long as the key's record
// lives (API.md §5: 24 h per user and key, idempotency::kKeyTtlS); after
// that the same key is a new request.
std::optional<Order> find_by_key(pqxx::work& w, const std::string& user_id,
                                 const std::string& key) {
    auto rows = exec_prepared(w,
                              std::string("SELECT ") + kOrderColumns +
                                  " FROM orders WHERE user_id = $1 AND idempotency_key = $2 "
                                  "AND created_at > now() - make_interval(secs => $3)",
                              user_id, key, idempotency::kKeyTtlS);
    if (rows.empty()) return std::nullopt;
    std::vector<Order> one{order_of(rows[0])};
    load_items(w, one);
    return one[0];
}

Error cart_already_ordered(std::int64_t version) {
    return Error(ErrorCode::kCartAlreadyOrdered,
                 "this cart (version " + std::to_string(version) +
                     ") was ordered already; change the cart to order again");
}

// A line whose catalog price (or currency) is not the one the cart shows.
struct PriceChange {
    std::int64_t book_id = 0;
    std::int64_t quantity = 0;
    std::int64_t cart_price = 0;
    std::int64_t price = 0;
    std::string cart_currency, currency;
};

Error price_changed(const std::vector<PriceChange>& changes) {
    nlohmann::json details = nlohmann::json::array();
    for (const auto& c : changes)
        details.push_back({{"bookId", std::to_string(c.book_id)},
                           {"cartPriceCents", c.cart_price},
                           {"priceCents", c.price},
                           {"cartCurrency", c.cart_currency},
                           {"currency", c.currency}});
    return Error(ErrorCode::kPriceChanged,
                 "prices changed since they were put in the cart; the cart now shows the "
                 "current prices: review it and order again")
        .with_raw_details(details.dump());
}

// After PRICE_CHANGED: the cart's lines take the catalog's current price
// (set_quantity re-reads the book), so what the client sees next is what the
// next order charges. Best effort: a line that cannot be set again (sold
// out, another currency) stays as it is and refuses again.
void refresh_cart_prices(Backends& b, const std::string& user_id,
                         const std::vector<PriceChange>& changes) {
    for (const auto& c : changes) {
        try {
            cart::set_quantity(b, user_id, {c.book_id, c.quantity});
        } catch (const std::exception& e) {
            log::warn("cart price not refreshed",
                      {{"userId", user_id}, {"bookId", c.book_id}, {"error", e.what()}});
        }
    }
}

// The orders that count against the per-user limits: the unpaid ones, and
// the free ones of the last reservation period (a free order is PAID at
// once and holds nothing afterwards, so without this a client could take
// every copy of a free book, one checkout after the other).
constexpr const char* kHoldingOrders =
    "(o.status = 'PAYMENT_PENDING' OR (o.total_cents = 0 AND o.status IN ('PAID', "
    "'FULFILLING', 'SHIPPED', 'DELIVERED') AND o.created_at > now() - make_interval(secs => $2)))";

// Where the user stands before this order, in one statement (one round
// trip of the checkout's): what the holding orders hold, and whether this
// cart version, or this request's key, made an order already (the caller,
// create_from_cart, tells the two apart: the key's order is returned).
struct Standing {
    Held held;
    bool ordered_already = false;
};

Standing read_standing(pqxx::work& w, const std::string& user_id, int reservation_ttl_s,
                       std::int64_t version, const std::string& key) {
    auto r = exec_prepared1(
        w,
        std::string("WITH h AS (SELECT o.id FROM orders o WHERE o.user_id = $1 AND ") +
            kHoldingOrders +
            ") SELECT (SELECT count(*) FROM h), "
            "EXISTS (SELECT 1 FROM orders WHERE user_id = $1 AND (cart_version = $3 OR "
            "(idempotency_key = NULLIF($4, '') AND created_at > now() - make_interval(secs => "
            "$5)))), "
            "COALESCE((SELECT string_agg(book_id || ':' || units, ',') FROM (SELECT i.book_id, "
            "sum(i.quantity)::bigint AS units FROM order_items i JOIN h ON h.id = i.order_id "
            "GROUP BY i.book_id) u), '')",
        user_id, reservation_ttl_s, version, key, idempotency::kKeyTtlS);
    Standing s;
    s.held.open_orders = r[0].as<std::int64_t>();
    s.ordered_already = r[1].as<bool>();
    std::string_view units = r[2].c_str();
    while (!units.empty()) {
        auto comma = units.find(',');
        auto item = units.substr(0, comma);
        auto colon = item.find(':');
        s.held.units_by_book[std::stoll(std::string(item.substr(0, colon)))] =
            std::stoll(std::string(item.substr(colon + 1)));
        units = comma == std::string_view::npos ? std::string_view() : units.substr(comma + 1);
    }
    return s;
}

// The same under a per-user advisory lock held to the end of the
// transaction: two checkouts of one user run one after the other from here
// on, so both cannot pass a limit that only one fits.
Standing lock_and_read_standing(pqxx::work& w, const std::string& user_id, int reservation_ttl_s,
                                std::int64_t version, const std::string& key) {
    exec_prepared(w, "SELECT pg_advisory_xact_lock(hashtextextended('bazaar:checkout:' || $1, 0))",
                  user_id);
    return read_standing(w, user_id, reservation_ttl_s, version, key);
}

Error order_limit(const std::vector<LimitBreach>& breaches) {
    return Error(ErrorCode::kOrderLimit,
                 "this order would pass a limit on unpaid orders (pay or cancel one first)")
        .with_raw_details(to_json(breaches).dump());
}

Order checkout(Backends& b, const std::string& user_id, const BeforeCommit& before_commit,
               const std::string& idempotency_key) {
    auto cart = cart::get(b, user_id, cart::Prices::kAsShown);
    const auto& cart_items = cart.at("items");
    if (cart_items.empty()) throw Error::validation("cart", "is empty");
    std::int64_t version = cart.at("version").get<std::int64_t>();
    const std::string cart_currency = cart.at("currency").get<std::string>();
    std::vector<stock::Line> lines;
    std::map<std::int64_t, std::int64_t> shown_price;  // what the cart showed
    for (const auto& i : cart_items) {
        auto id = std::stoll(i.at("bookId").get<std::string>());
        lines.push_back({id, i.at("quantity").get<std::int64_t>()});
        shown_price[id] = i.at("priceCents").get<std::int64_t>();
    }
    lines = stock::merge(lines);

    // A cart version already ordered (8 parallel checkouts of one cart): no
    // reservation at all. The order transaction checks again under the lock.
    // Nor for an order over a limit: every copy it reserved would look sold
    // to other buyers until the locked check in the order transaction
    // refused it.
    const OrderLimits limits{b.config.order_max_open_per_user, b.config.order_max_units_per_user,
                             b.config.order_max_units_per_book};
    b.pg.transact([&](pqxx::work& w) {
        auto standing =
            read_standing(w, user_id, b.config.reservation_ttl_s, version, idempotency_key);
        if (standing.ordered_already) throw cart_already_ordered(version);
        auto breaches = check_limits(limits, standing.held, lines);
        if (!breaches.empty()) throw order_limit(breaches);
    });

    const std::string order_id = uuid_v4();
    stock::Reservation reservation;
    try {
        reservation = stock::reserve(b.pg, b.redis, order_id, lines, b.config.idempotency_lease_ms);
    } catch (const Error& e) {
        if (e.code() == ErrorCode::kUnavailable) stock::abort_hold(b.redis, order_id, lines);
        throw;
    }
    if (!reservation.shortages.empty()) throw out_of_stock(reservation.shortages);

    std::vector<stock::Change> changes;
    std::vector<PriceChange> repriced;
    std::optional<Transition> paid;  // a free order, PAID at once
    Order order;
    try {
        order = b.pg.transact([&](pqxx::work& w) {
            changes.clear();
            repriced.clear();
            paid.reset();
            auto standing = lock_and_read_standing(w, user_id, b.config.reservation_ttl_s, version,
                                                   idempotency_key);
            if (standing.ordered_already) throw cart_already_ordered(version);
            std::string arr = "{";
            for (const auto& l : lines)
                arr += (arr.size() > 1 ? "," : "") + std::to_string(l.book_id);
            arr += "}";
            // Prices and titles from the catalog's record, never the cart's
            // copy; and never more (or less) than the cart showed the client.
            std::map<std::int64_t, std::tuple<std::string, std::int64_t, std::string>> books;
            for (const auto& r :
                 exec_prepared(w,
                               "SELECT id, title, price_cents, currency FROM books "
                               "WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL",
                               arr))
                books[r[0].as<std::int64_t>()] = {r[1].as<std::string>(), r[2].as<std::int64_t>(),
                                                  r[3].as<std::string>()};
            for (const auto& l : lines) {
                auto it = books.find(l.book_id);
                if (it == books.end()) continue;  // deleted: take_in_transaction says so
                const auto& [title, price, currency] = it->second;
                if (price != shown_price[l.book_id] || currency != cart_currency)
                    repriced.push_back({l.book_id, l.quantity, shown_price[l.book_id], price,
                                        cart_currency, currency});
            }
            if (!repriced.empty()) throw price_changed(repriced);
            std::set<std::string> currencies;
            for (const auto& [id, book] : books) currencies.insert(std::get<2>(book));
            if (currencies.size() > 1)
                throw Error(ErrorCode::kConflict,
                            "the cart holds books priced in different "
                            "currencies");
            if (auto breaches = check_limits(limits, standing.held, lines); !breaches.empty())
                throw order_limit(breaches);
            auto take = stock::take_in_transaction(w, lines);
            if (!take.shortages.empty()) throw out_of_stock(take.shortages);
            changes = take.changes;

            Order o;
            o.id = order_id;
            o.user_id = user_id;
            o.status = Status::kPaymentPending;
            o.currency = currencies.empty() ? "USD" : *currencies.begin();
            for (const auto& l : lines) {
                const auto& [title, price, currency] = books.at(l.book_id);
                o.items.push_back({l.book_id, title, price, l.quantity});
                o.total_cents += price * l.quantity;
            }
            const std::int64_t minimum = payments::minimum_charge(o.currency);
            if (o.total_cents > 0 && o.total_cents < minimum)
                throw Error(ErrorCode::kAmountTooSmall,
                            "the total is below the smallest amount the payment provider "
                            "can charge")
                    .with_raw_details(nlohmann::json::array({{{"totalCents", o.total_cents},
                                                              {"minimumCents", minimum},
                                                              {"currency", o.currency}}})
                                          .dump());
            // A key reused after its lifetime: the old order lets go of it
            // (the key is unique per user among orders).
            if (!idempotency_key.empty())
                exec_prepared(
                    w,
                    "UPDATE orders SET idempotency_key = NULL WHERE user_id = $1 "
                    "AND idempotency_key = $2 AND created_at <= now() - make_interval(secs => $3)",
                    o.user_id, idempotency_key, idempotency::kKeyTtlS);
            auto r = exec_prepared1(
                w,
                "INSERT INTO orders (id, user_id, status, total_cents, currency, expires_at, "
                "cart_version, idempotency_key) "
                "VALUES ($1, $2, 'PAYMENT_PENDING', $3, $4, now() + make_interval(secs => $5), "
                "$6, NULLIF($7, '')) "
                "RETURNING seq, " BAZAAR_TS("expires_at") ", " BAZAAR_TS(
                    "created_at") ", " BAZAAR_TS("updated_at"),
                o.id, o.user_id, o.total_cents, o.currency, b.config.reservation_ttl_s, version,
                idempotency_key);
            o.seq = r[0].as<std::int64_t>();
            o.expires_at = r[1].as<std::string>();
            o.created_at = r[2].as<std::string>();
            o.updated_at = r[3].as<std::string>();
            for (std::size_t i = 0; i < o.items.size(); ++i) {
                const auto& it = o.items[i];
                exec_prepared(
                    w,
                    "INSERT INTO order_items (order_id, book_id, title, unit_price_cents, "
                    "quantity, stock_seq) VALUES ($1, $2, $3, $4, $5, $6)",
                    o.id, it.book_id, it.title, it.unit_price_cents, it.quantity,
                    take.changes[i].seq);
            }
            emit_in(w, o, "order.created");
            if (o.total_cents == 0) {
                // Nothing to pay: no provider is asked (none charges 0), the
                // order is paid by its own checkout and fulfilled as usual.
                TransitionOptions opts;
                opts.event_extra = {{"free", true}};
                paid = transition(w, o.id, Status::kPaid, opts);
                payments::follow_ups(w, o.id, status_name(Status::kPaid));
                o = paid->order;
            } else {
                // The punctual path of expiry; expire_overdue() is the backstop.
                queue::NewJob job{kExpiryJob, {{"orderId", o.id}}};
                job.options.job_id = "expire:" + o.id;
                job.options.delay_ms = static_cast<std::int64_t>(b.config.reservation_ttl_s) * 1000;
                job.options.attempts = 10;
                job.options.remove_on_complete.age_s = 3600;
                queue::add_in_transaction(w, kExpiryQueue, job);
            }
            // The cart is cleared right after commit; should this process die
            // first, this job clears it (only while it is still this version).
            queue::NewJob clear{kCartClearJob, {{"userId", user_id}, {"version", version}}};
            clear.options.job_id = "clear-cart:" + o.id;
            clear.options.attempts = 10;
            clear.options.backoff = {queue::Backoff::Type::kExponential, 1000};
            clear.options.remove_on_complete.age_s = 3600;
            queue::add_in_transaction(w, kCartClearQueue, clear);
            if (before_commit) before_commit(w, o);
            return o;
        });
    } catch (const Error& e) {
        // The COMMIT was sent but its answer lost (a timeout or a broken
        // connection during it): the order may exist. Giving the hold back
        // could count its stock twice; the sweep settles it after its
        // lease by what Postgres holds then.
        if (e.code() == ErrorCode::kUnavailable && b.pg.commit_in_doubt()) {
            log::warn("order outcome unknown; its stock hold is left to the sweep",
                      {{"orderId", order_id}});
            throw;
        }
        stock::cancel_hold(b.redis, order_id, reservation.hold);
        // Postgres refused what the counters let through: they are wrong
        // (a load raced an order, or a crash lost a release). Reload them.
        if (e.code() == ErrorCode::kOutOfStock) {
            std::vector<std::int64_t> ids;
            for (const auto& l : lines) ids.push_back(l.book_id);
            try {
                stock::unload(b.redis, ids);
            } catch (const std::exception&) {
            }
        }
        if (e.code() == ErrorCode::kPriceChanged) refresh_cart_prices(b, user_id, repriced);
        throw;
    } catch (...) {
        stock::cancel_hold(b.redis, order_id, reservation.hold);
        throw;
    }
    stock::commit_hold(b.redis, order_id, reservation.hold, changes);
    if (paid) after_commit(b.redis, *paid);
    try {
        cart::clear_if_version(b, user_id, version);
    } catch (const std::exception& e) {
        // The order stands; its clear-cart job clears the cart later.
        log::warn("cart not cleared after checkout", {{"orderId", order_id}, {"error", e.what()}});
    }
    return order;
}

}  // namespace

Order create_from_cart(Backends& b, const std::string& user_id, const BeforeCommit& before_commit,
                       const std::string& idempotency_key) {
    try {
        return checkout(b, user_id, before_commit, idempotency_key);
    } catch (const Error& e) {
        // A retry whose first attempt committed (its answer lost, its stored
        // response gone: an empty cart, its stock or cart version taken by
        // that very order) gets that order, never an error or a second one.
        if (idempotency_key.empty() || e.code() == ErrorCode::kUnavailable) throw;
        std::optional<Order> earlier;
        try {
            earlier = b.pg.transact(
                [&](pqxx::work& w) { return find_by_key(w, user_id, idempotency_key); });
        } catch (const std::exception&) {
        }
        if (!earlier) throw;
        log::info("checkout retry found the order its key made",
                  {{"orderId", earlier->id}, {"refused", error_code_name(e.code())}});
        return *earlier;
    }
}

/* ---- views ---- */

constexpr std::int64_t kNoCursor = std::numeric_limits<std::int64_t>::max();

Page list(Backends& b, const std::string& user_id,
          const std::vector<std::pair<std::string, std::string>>& params) {
    std::string key = catalog::cursor_key(b.config) + ":orders:" + user_id;
    auto q = catalog::parse_page_query(params, key);
    Page page;
    page.limit = q.limit;
    b.pg.transact([&](pqxx::work& w) {
        auto rows = exec_prepared(w,
                                  std::string("SELECT ") + kOrderColumns +
                                      " FROM orders WHERE user_id = $1 "
                                      "AND seq < $2 "
                                      "ORDER BY seq DESC LIMIT $3",
                                  user_id, q.before_id.value_or(kNoCursor), q.limit + 1);
        for (const auto& r : rows) page.orders.push_back(order_of(r));
        if (static_cast<int>(page.orders.size()) > q.limit) {
            page.orders.pop_back();
            page.next_cursor = catalog::encode_cursor(page.orders.back().seq, q.filter(), key);
        }
        load_items(w, page.orders);
    });
    return page;
}

std::optional<Order> load(pqxx::work& w, const std::string& order_id, bool for_update) {
    auto c = canonical_uuid(order_id);
    if (!c) return std::nullopt;
    auto rows = exec_prepared(w,
                              std::string("SELECT ") + kOrderColumns +
                                  " FROM orders WHERE id = $1" + (for_update ? " FOR UPDATE" : ""),
                              *c);
    if (rows.empty()) return std::nullopt;
    std::vector<Order> one{order_of(rows[0])};
    load_items(w, one);
    return one[0];
}

Order get(Backends& b, const std::string& user_id, const std::string& order_id) {
    auto id = canonical_order_id(order_id);
    auto o = b.pg.transact([&](pqxx::work& w) { return load(w, id); });
    if (!o || o->user_id != user_id) throw Error::not_found("order");
    return *o;
}

/* ---- state changes ---- */

std::vector<stock::Change> release_stock(pqxx::work& w, const std::string& order_id) {
    auto r = exec_prepared(
        w,
        "UPDATE orders SET stock_released = true WHERE id = $1 AND NOT stock_released "
        "RETURNING id",
        order_id);
    if (r.empty()) return {};
    std::vector<stock::Line> lines;
    for (const auto& row : exec_prepared(
             w, "SELECT book_id, quantity FROM order_items WHERE order_id = $1", order_id))
        lines.push_back({row[0].as<std::int64_t>(), row[1].as<std::int64_t>()});
    return stock::give_back_in_transaction(w, lines);
}

std::optional<std::vector<stock::Change>> reserve_again(pqxx::work& w,
                                                        const std::string& order_id) {
    std::vector<stock::Line> lines;
    for (const auto& row : exec_prepared(
             w, "SELECT book_id, quantity FROM order_items WHERE order_id = $1", order_id))
        lines.push_back({row[0].as<std::int64_t>(), row[1].as<std::int64_t>()});
    // A savepoint in SQL, not a pqxx::subtransaction: libpqxx 6.4 sends its
    // SAVEPOINT only for statements run through the subtransaction object,
    // and these run on `w`, so its abort() would undo nothing and the lines
    // taken before the short one would stay taken.
    w.exec0("SAVEPOINT reserve_again");
    auto take = stock::take_in_transaction(w, lines);
    if (!take.shortages.empty()) {
        w.exec0("ROLLBACK TO SAVEPOINT reserve_again");
        return std::nullopt;
    }
    w.exec0("RELEASE SAVEPOINT reserve_again");
    exec_prepared(w, "UPDATE orders SET stock_released = false WHERE id = $1", order_id);
    return take.changes;
}

Transition transition(pqxx::work& w, const std::string& order_id, Status to,
                      const TransitionOptions& opts) {
    auto id = canonical_order_id(order_id);
    auto o = load(w, id, true);
    if (!o) throw Error::not_found("order");
    Transition t;
    t.from = o->status;
    if (!opts.only_from.empty()) {
        bool ok = false;
        for (auto s : opts.only_from) ok = ok || s == o->status;
        if (!ok)
            throw Error(ErrorCode::kInvalidTransition,
                        "order is " + std::string(status_name(o->status)));
    }
    require_transition(o->status, to);
    if (needs_reserve_again(o->status, to) && o->stock_released) {
        auto taken = reserve_again(w, id);
        if (!taken) throw Error(ErrorCode::kOutOfStock, "the order's stock is gone");
        t.stock = std::move(*taken);
    }
    if (releases_stock(o->status, to)) t.stock = release_stock(w, id);
    auto r = exec_prepared1(w,
                            "UPDATE orders SET status = $2, updated_at = now() WHERE id = $1 "
                            "RETURNING " BAZAAR_TS("updated_at") ", stock_released",
                            id, std::string(status_name(to)));
    o->status = to;
    o->updated_at = r[0].as<std::string>();
    o->stock_released = r[1].as<bool>();
    emit_in(w, *o, event_name(to), opts.event_extra);
    if (auto m = mail_on_entering(to)) mail::enqueue_order_mail(w, *m, id);
    t.order = std::move(*o);
    return t;
}

void after_commit(Redis& redis, const Transition& t) {
    stock::apply(redis, t.stock);
}

Transition transition(Backends& b, const std::string& order_id, Status to,
                      const TransitionOptions& opts) {
    auto t = b.pg.transact([&](pqxx::work& w) { return transition(w, order_id, to, opts); });
    after_commit(b.redis, t);
    return t;
}

Order cancel(Backends& b, const std::string& user_id, const std::string& order_id) {
    auto id = canonical_order_id(order_id);
    auto t = b.pg.transact([&](pqxx::work& w) {
        auto o = load(w, id, true);
        if (!o || o->user_id != user_id) throw Error::not_found("order");
        return transition(w, id, Status::kCancelled);
    });
    after_commit(b.redis, t);
    return t.order;
}

bool expire(Backends& b, const std::string& order_id) {
    auto id = canonical_uuid(order_id);
    if (!id) return false;
    auto t = b.pg.transact([&](pqxx::work& w) -> std::optional<Transition> {
        auto due =
            exec_prepared(w,
                          "SELECT 1 FROM orders WHERE id = $1 AND status = 'PAYMENT_PENDING' "
                          "AND expires_at <= now() FOR UPDATE",
                          *id);
        if (due.empty()) return std::nullopt;
        return transition(w, *id, Status::kExpired);
    });
    if (!t) return false;
    after_commit(b.redis, *t);
    return true;
}

namespace {
// expire() re-checks the rule under the order's row lock, so an order
// skipped here is tried again by the next run.
void skip_overdue(const std::string& order_id, const std::exception& e) {
    metrics::inc(metrics::Counter::kSweepItemFailures);
    log::error("overdue order could not be expired; skipped this round",
               {{"orderId", order_id}, {"error", e.what()}});
}
}  // namespace

int expire_overdue(Backends& b, int limit) {
    std::vector<std::string> due;
    b.pg.transact([&](pqxx::work& w) {
        due.clear();
        for (const auto& r :
             exec_prepared(w,
                           "SELECT id::text FROM orders WHERE status = 'PAYMENT_PENDING' "
                           "AND expires_at <= now() ORDER BY expires_at LIMIT $1",
                           limit))
            due.push_back(r[0].as<std::string>());
    });
    int n = 0;
    for (const auto& id : due) {
        try {
            n += expire(b, id) ? 1 : 0;
        } catch (const Error& e) {
            if (e.code() == ErrorCode::kUnavailable) throw;
            skip_overdue(id, e);
        } catch (const std::exception& e) {
            skip_overdue(id, e);
        }
    }
    return n;
}

}  // namespace bazaar::orders

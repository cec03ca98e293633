#include "bazaar/pipelines/sales_summary.hpp"

#include <regex>

#include "bazaar/error.hpp"
#include "bazaar/pipelines/long_transaction.hpp"

namespace bazaar::pipelines {

SalesSummaryOutcome summarize_sales(Backends& b, const std::string& to, int days) {
    if (days < 1 || days > 366)
        throw Error::validation("days", "must be an integer between 1 and 366");
    if (!to.empty() && !std::regex_match(to, std::regex("[0-9]{4}-[0-9]{2}-[0-9]{2}")))
        throw Error::validation("day", "must be a date YYYY-MM-DD");
    SalesSummaryOutcome out;
    LongTransaction long_tx(b.pg);
    b.pg.transact([&](pqxx::work& w) {
        w.exec(long_statement_sql());
        pqxx::row range;
        try {
            // Postgres is the calendar: it refuses 2026-02-30 for us.
            range = w.exec_params1(
                "SELECT (d - ($2::int - 1))::text, d::text FROM (SELECT COALESCE(NULLIF($1, "
                "'')::date, "
                "(now() AT TIME ZONE 'UTC')::date - 1) AS d) x",
                to, days);
        } catch (const pqxx::data_exception&) {
            throw Error::validation("day", "must be a real date YYYY-MM-DD");
        }
        out.from = range[0].as<std::string>();
        out.to = range[1].as<std::string>();
        w.exec_params("DELETE FROM sales_daily WHERE day BETWEEN $1::date AND $2::date", out.from,
                      out.to);
        auto r = w.exec_params(
            std::string("WITH lines AS (SELECT (o.created_at AT TIME ZONE 'UTC')::date AS day, "
                        "o.currency, o.id AS order_id, oi.book_id, oi.title, oi.quantity, "
                        "oi.quantity::bigint * oi.unit_price_cents AS cents "
                        "FROM orders o JOIN order_items oi ON oi.order_id = o.id "
                        "WHERE o.status IN ") +
                kSoldStatusesSql +
                " AND o.created_at >= $1::date::timestamp AT TIME ZONE 'UTC' "
                "AND o.created_at < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'), "
                "per_book AS (SELECT day, currency, book_id, max(title) AS title, "
                "sum(quantity) AS units, sum(cents) AS cents, row_number() OVER (PARTITION BY "
                "day, currency ORDER BY sum(quantity) DESC, sum(cents) DESC, book_id) AS rank "
                "FROM lines GROUP BY day, currency, book_id), "
                "totals AS (SELECT day, currency, count(DISTINCT order_id) AS orders, "
                "sum(quantity) AS units, sum(cents) AS cents FROM lines GROUP BY day, currency) "
                "INSERT INTO sales_daily (day, currency, orders, units, revenue_cents, top_books) "
                "SELECT t.day, t.currency, t.orders, t.units, t.cents, COALESCE((SELECT "
                "jsonb_agg(jsonb_build_object('bookId', pb.book_id::text, 'title', pb.title, "
                "'units', pb.units, 'revenueCents', pb.cents) ORDER BY pb.rank) FROM per_book pb "
                "WHERE pb.day = t.day AND pb.currency = t.currency AND pb.rank <= 10), '[]') "
                "FROM totals t RETURNING day",
            out.from, out.to);
        out.rows = static_cast<int>(r.size());
    });
    return out;
}

}  // namespace bazaar::pipelines

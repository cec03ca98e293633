#include "bazaar/pipelines/recommendations.hpp"

#include <nlohmann/json.hpp>

#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/log.hpp"
#include "bazaar/pipelines/long_transaction.hpp"

namespace bazaar::pipelines {

RecommendationsOutcome rebuild_recommendations(Backends& b) {
    RecommendationsOutcome out;
    LongTransaction long_tx(b.pg);
    b.pg.transact([&](pqxx::work& w) {
        w.exec(long_statement_sql());
        w.exec("LOCK TABLE recommendations IN EXCLUSIVE MODE");
        w.exec("DELETE FROM recommendations");
        auto r = w.exec_params1(
            std::string(
                "WITH items AS (SELECT DISTINCT oi.order_id, oi.book_id FROM order_items oi "
                "JOIN orders o ON o.id = oi.order_id AND o.status IN ") +
                kSoldStatusesSql +
                " JOIN books b ON b.id = oi.book_id AND b.deleted_at IS NULL), "
                "per_book AS (SELECT book_id, count(*)::float8 AS n FROM items GROUP BY book_id), "
                "pairs AS (SELECT a.book_id, c.book_id AS rec, count(*) AS together "
                "FROM items a JOIN items c ON c.order_id = a.order_id AND c.book_id <> a.book_id "
                "GROUP BY a.book_id, c.book_id), "
                "ranked AS (SELECT p.book_id, p.rec, p.together / sqrt(na.n * nb.n) AS score, "
                "row_number() OVER (PARTITION BY p.book_id ORDER BY p.together / sqrt(na.n * nb.n) "
                "DESC, p.rec DESC) AS rank "
                "FROM pairs p JOIN per_book na ON na.book_id = p.book_id "
                "JOIN per_book nb ON nb.book_id = p.rec), "
                "ins AS (INSERT INTO recommendations (book_id, recommended_book_id, score) "
                "SELECT book_id, rec, score FROM ranked WHERE rank <= $1 RETURNING book_id) "
                "SELECT (SELECT count(*) FROM ins), (SELECT count(DISTINCT book_id) FROM ins), "
                "(SELECT count(DISTINCT order_id) FROM items)",
            kKeepPerBook);
        out.rows = r[0].as<std::size_t>();
        out.books = r[1].as<std::size_t>();
        out.orders = r[2].as<std::size_t>();
    });
    // After commit: a page rebuilt from the old table during the run dies
    // here. A Redis failure throws, so the job retries (the rebuild is
    // idempotent) and the pages are invalidated then.
    catalog::invalidate_recommendations(b.redis);
    log::info("recommendations rebuilt",
              {{"rows", out.rows}, {"books", out.books}, {"orders", out.orders}});
    return out;
}

}  // namespace bazaar::pipelines

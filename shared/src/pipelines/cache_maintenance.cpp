#include "bazaar/pipelines/cache_maintenance.hpp"

#include <vector>

#include "bazaar/cache/read_cache.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/catalog_service.hpp"
#include "bazaar/error.hpp"
#include "bazaar/pipelines/long_transaction.hpp"

namespace bazaar::pipelines {

WarmOutcome warm_books(Backends& b, int limit, int days) {
    if (limit < 1 || limit > 10000)
        throw Error::validation("limit", "must be an integer between 1 and 10000");
    if (days < 1 || days > 3650)
        throw Error::validation("days", "must be an integer between 1 and 3650");
    std::vector<std::int64_t> ids;
    if (!b.config.cache_enabled) return {};
    {
        LongTransaction long_tx(b.pg, 60000);
        b.pg.transact([&](pqxx::work& w) {
            w.exec(long_statement_sql(60000));
            ids.clear();
            auto r = w.exec_params(
                std::string("SELECT b.id FROM books b LEFT JOIN (SELECT oi.book_id, "
                            "sum(oi.quantity) AS units FROM order_items oi JOIN orders o ON "
                            "o.id = oi.order_id AND o.status IN ") +
                    kSoldStatusesSql +
                    " AND o.created_at >= now() - make_interval(days => $2) "
                    "GROUP BY oi.book_id) s ON s.book_id = b.id WHERE b.deleted_at IS NULL "
                    "ORDER BY COALESCE(s.units, 0) DESC, b.favorite_count DESC, b.id DESC "
                    "LIMIT $1",
                limit, days);
            for (const auto& row : r) ids.push_back(row[0].as<std::int64_t>());
        });
    }
    WarmOutcome out;
    out.books = ids.size();
    catalog::Projection all;
    cache::Options options;
    options.enabled = b.config.cache_enabled;
    options.rebuild_wait_ms = b.config.cache_rebuild_wait_ms;
    for (auto id : ids) {
        cache::Entry entry{catalog::book_scope(id), all.variant(), b.config.cache_ttl_books_s};
        auto load = [&] {
            auto book = catalog::find_book(b.pg, id, all);
            // Deleted meanwhile: nothing is cached for a 404 (as the handler does).
            if (!book) throw Error::not_found("book");
            return R"({"success":true,"data":)" + catalog::to_json(*book, all).dump() + "}";
        };
        try {
            auto result = cache::get_or_load(b.redis, entry, options, load);
            if (result.status == cache::Status::kHit)
                ++out.already_warm;
            else if (result.status == cache::Status::kMiss)
                ++out.warmed;
            else  // Redis down (or the cache off): nothing was warmed, retry later
                throw Error::unavailable("the cache");
        } catch (const Error& e) {
            if (e.code() != ErrorCode::kNotFound) throw;
            ++out.missing;
        }
    }
    return out;
}

InvalidateOutcome invalidate_matching(Redis& redis, const std::string& pattern,
                                      std::size_t scan_count) {
    if (pattern.size() < 3 || pattern.rfind("c:", 0) != 0 || pattern.size() > 512)
        throw Error::validation("pattern",
                                "must be a glob of read-cache keys, starting with \"c:\"");
    InvalidateOutcome out;
    // On every master in cluster mode (scan_all).
    redis.scan_all(pattern, scan_count, [&](const Reply& keys) {
        // One UNLINK per key, pipelined: in Redis Cluster the keys of a page
        // live in many slots, which a multi-key UNLINK refuses; the
        // pipeline is split per node.
        std::vector<RedisArgs> cmds;
        cmds.reserve(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i)
            cmds.push_back(RedisArgs{"UNLINK", keys.at(i).str()});
        out.scanned += keys.size();
        for (const Reply& r : redis.pipeline(cmds))
            if (r.is_integer()) out.removed += static_cast<std::size_t>(r.integer());
    });
    return out;
}

}  // namespace bazaar::pipelines

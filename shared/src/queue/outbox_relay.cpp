#include "bazaar/queue/outbox_relay.hpp"

#include <map>

#include "bazaar/log.hpp"
#include "bazaar/queue/job_json.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/queue/producer.hpp"

namespace bazaar::queue {

int relay_outbox(Pg& pg, Redis& redis, int limit) {
    return pg.transact([&](pqxx::work& w) {
        auto rows = w.exec_params(
            "SELECT id, topic, payload::text FROM outbox "
            "WHERE published_at IS NULL AND topic LIKE 'job:%' "
            "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
            limit);
        if (rows.empty()) return 0;
        std::map<std::string, std::vector<NewJob>> by_queue;
        std::string ids = "{";
        for (const auto& row : rows) {
            auto id = row[0].as<std::int64_t>();
            ids += (ids.size() > 1 ? "," : "") + std::to_string(id);
            std::string queue = row[1].as<std::string>().substr(4);
            try {
                validate_queue_name(queue);
                by_queue[queue].push_back(job_from_json(nlohmann::json::parse(row[2].c_str())));
            } catch (const std::exception& e) {
                log::error("outbox row is not a valid job; dropped",
                           {{"outboxId", id}, {"error", e.what()}});
            }
        }
        ids += "}";
        for (const auto& [queue, jobs] : by_queue) add_bulk(redis, queue, jobs);
        w.exec_params("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", ids);
        return static_cast<int>(rows.size());
    });
}

double outbox_lag_seconds(Pg& pg) {
    return pg.transact([](pqxx::work& w) {
        auto r = w.exec(
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 "
            "FROM outbox WHERE published_at IS NULL AND topic LIKE 'job:%'");
        return r[0][0].as<double>();
    });
}

}  // namespace bazaar::queue

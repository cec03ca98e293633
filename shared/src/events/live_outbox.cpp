#include "bazaar/events/live_outbox.hpp"

#include <nlohmann/json.hpp>
#include <vector>

#include "bazaar/error.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/log.hpp"
#include "bazaar/queue/producer.hpp"

namespace bazaar::live {

void add_in_transaction(pqxx::transaction_base& tx, std::string_view room, std::string_view event,
                        std::string_view data_json, std::string_view ordering_key) {
    nlohmann::json payload = {{"room", room}, {"event", event}, {"data", std::string(data_json)}};
    tx.exec_params("INSERT INTO outbox (topic, payload, ordering_key) VALUES ($1, $2::jsonb, $3)",
                   std::string(kOutboxTopic), payload.dump(), std::string(ordering_key));
    // The relay LISTENs on the job channel; one wake-up serves both topics.
    tx.exec0(std::string("NOTIFY ") + queue::kOutboxChannel);
}

std::string relayed_key(std::string_view room) {
    return "{" + std::string(room) + "}:relayed";
}

namespace {

struct Row {
    std::int64_t id = 0;
    std::string room, event, data;
};

}  // namespace

int relay_live_events(Pg& pg, Redis& redis, int limit) {
    return pg.transact([&](pqxx::work& w) {
        // The earliest unpublished row of each ordering key only: a later
        // row waits until the earlier one is stamped (see the header).
        auto rows = w.exec_params(
            "SELECT o.id, o.payload::text FROM outbox o "
            "WHERE o.topic = 'live' AND o.published_at IS NULL AND o.failed_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.topic = 'live' "
            "  AND p.ordering_key = o.ordering_key AND p.id < o.id "
            "  AND p.published_at IS NULL AND p.failed_at IS NULL) "
            "ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED",
            limit);
        if (rows.empty()) return 0;
        std::vector<Row> good;
        std::vector<std::int64_t> bad;
        for (const auto& r : rows) {
            Row row;
            row.id = r[0].as<std::int64_t>();
            try {
                auto p = nlohmann::json::parse(r[1].c_str());
                row.room = p.at("room").get<std::string>();
                row.event = p.at("event").get<std::string>();
                row.data = p.at("data").get<std::string>();
                if (!nlohmann::json::accept(row.data)) throw std::invalid_argument("data");
                good.push_back(std::move(row));
            } catch (const std::exception&) {
                bad.push_back(row.id);
            }
        }
        std::vector<RedisArgs> cmds;
        cmds.reserve(good.size());
        for (const auto& r : good)
            cmds.push_back(script_command("live_event_emit_once",
                                          {stream_key(r.room), relayed_key(r.room)},
                                          {r.event, r.data, std::to_string(r.id)}));
        auto replies = redis.pipeline(cmds);
        std::string ids = "{";
        for (std::size_t i = 0; i < good.size(); ++i) {
            Reply rep = replies[i];
            if (is_noscript(rep))
                rep = redis.eval_script("live_event_emit_once",
                                        {stream_key(good[i].room), relayed_key(good[i].room)},
                                        {good[i].event, good[i].data, std::to_string(good[i].id)});
            if (rep.is_error()) throw_reply_error(rep);
            ids += (ids.size() > 1 ? "," : "") + std::to_string(good[i].id);
        }
        ids += "}";
        w.exec_params("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", ids);
        for (auto id : bad) {
            log::error("outbox live event is malformed; set aside", {{"outboxId", id}});
            w.exec_params(
                "UPDATE outbox SET attempts = attempts + 1, last_error = 'malformed live event', "
                "failed_at = now() WHERE id = $1",
                id);
        }
        return static_cast<int>(rows.size());
    });
}

}  // namespace bazaar::live

#include "bazaar/events/live_outbox.hpp"

#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "bazaar/error.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/pg.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/queue/producer.hpp"

namespace bazaar::live {

void add_in_transaction(pqxx::transaction_base& tx, std::string_view room, std::string_view event,
                        std::string_view data_json, std::string_view ordering_key) {
    nlohmann::json payload = {{"room", room}, {"event", event}, {"data", std::string(data_json)}};
    exec_prepared(tx,
                  "INSERT INTO outbox (topic, payload, ordering_key) VALUES ($1, $2::jsonb, $3)",
                  std::string(kOutboxTopic), payload.dump(), std::string(ordering_key));
    // The relay LISTENs on the job channel; one wake-up serves both topics.
    notify_after_commit(tx, queue::kOutboxChannel);
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
    int set_aside = 0;
    int handled = pg.transact([&](pqxx::work& w) {
        set_aside = 0;
        // The earliest unpublished row of each ordering key only: a later
        // row waits until the earlier one is stamped (see the header).
        auto rows = exec_prepared(
            w,
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
        // An outage (down, frozen, OOM, READONLY...) throws out of here: the
        // transaction rolls back and every row waits for the relay's next run.
        auto replies = redis.pipeline(cmds);
        std::string ids = "{";
        std::vector<std::pair<std::int64_t, std::string>> refused;
        for (std::size_t i = 0; i < good.size(); ++i) {
            Reply rep = replies[i];
            if (is_noscript(rep)) {
                try {
                    rep = redis.eval_script(
                        "live_event_emit_once",
                        {stream_key(good[i].room), relayed_key(good[i].room)},
                        {good[i].event, good[i].data, std::to_string(good[i].id)});
                } catch (const RedisError& e) {
                    refused.emplace_back(good[i].id, e.what());
                    continue;
                }
            }
            if (rep.is_error()) {
                if (is_outage_reply(rep.str())) throw Error::unavailable("redis");
                // This row's own fault (its room's stream key holds another
                // type, ...): it is set aside, the others go on.
                refused.emplace_back(good[i].id, std::string(rep.str()));
                continue;
            }
            ids += (ids.size() > 1 ? "," : "") + std::to_string(good[i].id);
        }
        ids += "}";
        exec_prepared(w, "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                      ids);
        for (auto id : bad) {
            log::error("outbox live event is malformed; set aside", {{"outboxId", id}});
            exec_prepared(
                w,
                "UPDATE outbox SET attempts = attempts + 1, last_error = 'malformed live event', "
                "failed_at = now() WHERE id = $1",
                id);
        }
        for (const auto& [id, why] : refused) {
            log::error("outbox live event refused by Redis; set aside",
                       {{"outboxId", id}, {"error", why}});
            exec_prepared(
                w,
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, failed_at = now() "
                "WHERE id = $1",
                id, why);
        }
        set_aside = static_cast<int>(bad.size() + refused.size());
        return static_cast<int>(rows.size());
    });
    if (set_aside > 0) metrics::inc(metrics::Counter::kOutboxSetAside, set_aside);
    return handled;
}

}  // namespace bazaar::live

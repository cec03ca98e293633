#include "bazaar/queue/outbox_relay.hpp"

#include <algorithm>
#include <map>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/pg_array.hpp"
#include "bazaar/pg_prepared.hpp"
#include "bazaar/queue/job_json.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/queue/producer.hpp"

namespace bazaar::queue {

namespace {

struct Row {
    std::int64_t id;
    std::string queue;
    NewJob job;
};

// The reason a job was refused, for last_error: a validation error's own
// message is generic, its details say what was wrong.
std::string describe(const std::exception& e) {
    std::string out = e.what();
    if (const auto* err = dynamic_cast<const Error*>(&e)) {
        for (const auto& d : err->details()) out += "; " + d.field + ": " + d.reason;
    }
    return out;
}

}  // namespace

bool is_outage(const std::exception& e) {
    if (const auto* err = dynamic_cast<const Error*>(&e))
        return err->code() == ErrorCode::kUnavailable;
    // A refusal that reached us as a plain reply text (a caller that
    // rethrew it as RedisError) is still Redis's state, not the row's.
    if (dynamic_cast<const RedisError*>(&e)) return is_outage_reply(e.what());
    return false;
}

int next_outage_delay_ms(int previous_ms, int cap_ms) {
    if (previous_ms <= 0) return std::min(kFirstOutageDelayMs, cap_ms);
    // Doubled only below half the cap: the product never overflows.
    if (previous_ms >= cap_ms / 2) return cap_ms;
    return std::min(previous_ms * 2, cap_ms);
}

int relay_outbox(Pg& pg, Redis& redis, int limit, int max_attempts) {
    int set_aside = 0;
    int handled = pg.transact([&](pqxx::work& w) {
        set_aside = 0;
        auto rows =
            exec_prepared(w,
                          "SELECT id, topic, payload::text FROM outbox "
                          "WHERE published_at IS NULL AND failed_at IS NULL AND topic LIKE 'job:%' "
                          "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                          limit);
        if (rows.empty()) return 0;
        std::map<std::string, std::vector<Row>> by_queue;
        std::vector<std::int64_t> published;
        std::vector<std::pair<std::int64_t, std::string>> refused, invalid;
        for (const auto& row : rows) {
            auto id = row[0].as<std::int64_t>();
            std::string queue = row[1].as<std::string>().substr(4);
            try {
                validate_queue_name(queue);
                by_queue[queue].push_back(
                    {id, queue, job_from_json(nlohmann::json::parse(row[2].c_str()))});
            } catch (const std::exception& e) {
                invalid.emplace_back(id, describe(e));
            }
        }
        for (const auto& [queue, list] : by_queue) {
            std::vector<NewJob> jobs;
            for (const auto& r : list) jobs.push_back(r.job);
            try {
                add_bulk(redis, queue, jobs);
                for (const auto& r : list) published.push_back(r.id);
                continue;
            } catch (const std::exception& e) {
                // Not the rows' fault: all of them wait for the next run,
                // and no attempt is counted (the transaction rolls back).
                if (is_outage(e)) throw Error::unavailable("the job queue");
            }
            // One job spoiled the batch: add them one by one to find it. Jobs
            // already added by the batch are no-ops now (every outbox job has
            // a jobId).
            for (const auto& r : list) {
                try {
                    add(redis, queue, r.job);
                    published.push_back(r.id);
                } catch (const std::exception& e) {
                    if (is_outage(e)) throw Error::unavailable("the job queue");
                    refused.emplace_back(r.id, describe(e));
                }
            }
        }
        // One statement for the batch (a statement per row was a round trip each).
        if (!published.empty())
            exec_prepared(w, "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])",
                          pg_array(published));
        for (const auto& [id, why] : invalid) {
            log::error("outbox row is not a valid job; set aside",
                       {{"outboxId", id}, {"error", why}});
            w.exec_params(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, failed_at = now() "
                "WHERE id = $1",
                id, why);
            ++set_aside;
        }
        for (const auto& [id, why] : refused) {
            auto r = w.exec_params1(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, "
                "failed_at = CASE WHEN attempts + 1 >= $3 THEN now() END "
                "WHERE id = $1 RETURNING attempts, failed_at IS NOT NULL",
                id, why, max_attempts);
            nlohmann::json fields = {
                {"outboxId", id}, {"attempts", r[0].as<int>()}, {"error", why}};
            if (r[1].as<bool>()) {
                log::error("outbox job refused too often; set aside", fields);
                ++set_aside;
            } else {
                log::warn("outbox job refused; will retry", fields);
            }
        }
        return static_cast<int>(rows.size());
    });
    if (set_aside > 0) metrics::inc(metrics::Counter::kOutboxSetAside, set_aside);
    return handled;
}

// A live event set aside after a later event of its ordering key (the same
// order, the same cart) was published: re-driving it would deliver it out of
// order (an order.paid after its order.shipped). Such rows stay set aside;
// the client's next REST read has the state anyway.
#define BAZAAR_OVERTAKEN(row)                                                     \
    "(" row                                                                       \
    ".topic = 'live' AND EXISTS (SELECT 1 FROM outbox later WHERE later.topic = " \
    "'live' AND later.ordering_key = " row ".ordering_key AND later.id > " row    \
    ".id "                                                                        \
    "AND later.published_at IS NOT NULL))"

RedriveResult redrive_outbox(Pg& pg, std::optional<std::int64_t> id,
                             std::optional<std::string> queue) {
    if (queue) validate_queue_name(*queue);
    return pg.transact([&](pqxx::work& w) {
        RedriveResult out;
        pqxx::result rows;
        if (id) {
            auto row = w.exec_params(
                "SELECT failed_at IS NOT NULL, published_at IS NOT NULL, " BAZAAR_OVERTAKEN(
                    "o") " FROM outbox o WHERE id = $1 FOR UPDATE",
                *id);
            if (row.empty()) throw Error::not_found("outbox row");
            if (!row[0][0].as<bool>())
                throw Error(ErrorCode::kInvalidTransition,
                            row[0][1].as<bool>() ? "this outbox row was published"
                                                 : "this outbox row is not set aside");
            if (row[0][2].as<bool>())
                throw Error(ErrorCode::kInvalidTransition,
                            "a later live event of the same order or cart was published: this "
                            "one would arrive out of order (clients reload over REST)");
            rows = w.exec_params(
                "UPDATE outbox SET failed_at = NULL, attempts = 0 WHERE id = $1 RETURNING id", *id);
        } else if (queue) {
            rows = w.exec_params(
                "UPDATE outbox o SET failed_at = NULL, attempts = 0 WHERE failed_at IS NOT NULL "
                "AND topic = $1 AND NOT " BAZAAR_OVERTAKEN("o") " RETURNING id",
                outbox_topic(*queue));
        } else {
            rows = w.exec(
                "UPDATE outbox o SET failed_at = NULL, attempts = 0 WHERE failed_at IS NOT NULL "
                "AND NOT " BAZAAR_OVERTAKEN("o") " RETURNING id");
        }
        for (const auto& r : rows) out.ids.push_back(r[0].as<std::int64_t>());
        // The relay LISTENs: it takes the rows now, not at its next wake-up.
        if (!out.ids.empty()) w.exec0(std::string("NOTIFY ") + kOutboxChannel);
        log::info("outbox rows re-driven", {{"rows", static_cast<std::int64_t>(out.ids.size())}});
        return out;
    });
}

OutboxFailures failed_outbox_rows(Pg& pg, int limit) {
    return pg.transact([&](pqxx::work& w) {
        OutboxFailures out;
        out.total = w.exec1("SELECT count(*) FROM outbox WHERE failed_at IS NOT NULL")[0]
                        .as<std::int64_t>();
        auto rows = w.exec_params(
            "SELECT id, topic, attempts, COALESCE(last_error, ''), "
            "to_char(failed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
            "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
            "payload::text "
            "FROM outbox WHERE failed_at IS NOT NULL ORDER BY id DESC LIMIT $1",
            limit);
        for (const auto& row : rows) {
            out.rows.push_back({row[0].as<std::int64_t>(), row[1].as<std::string>(),
                                row[2].as<int>(), row[3].as<std::string>(),
                                row[4].as<std::string>(), row[5].as<std::string>(),
                                row[6].as<std::string>()});
        }
        return out;
    });
}

double outbox_lag_seconds(Pg& pg) {
    return pg.transact([](pqxx::work& w) {
        auto r = w.exec(
            "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 "
            "FROM outbox WHERE published_at IS NULL AND failed_at IS NULL "
            "AND (topic LIKE 'job:%' OR topic = 'live')");
        return r[0][0].as<double>();
    });
}

}  // namespace bazaar::queue

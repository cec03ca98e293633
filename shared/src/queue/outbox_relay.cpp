#include "bazaar/queue/outbox_relay.hpp"

#include <map>

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
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

bool is_outage(const std::exception& e) {
    const auto* err = dynamic_cast<const Error*>(&e);
    return err && err->code() == ErrorCode::kUnavailable;
}

}  // namespace

int relay_outbox(Pg& pg, Redis& redis, int limit, int max_attempts) {
    return pg.transact([&](pqxx::work& w) {
        auto rows = w.exec_params(
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
                if (is_outage(e)) throw;  // not the rows' fault: all wait for the next run
            }
            // One job spoiled the batch: add them one by one to find it. Jobs
            // already added by the batch are no-ops now (every outbox job has
            // a jobId).
            for (const auto& r : list) {
                try {
                    add(redis, queue, r.job);
                    published.push_back(r.id);
                } catch (const std::exception& e) {
                    if (is_outage(e)) throw;
                    refused.emplace_back(r.id, describe(e));
                }
            }
        }
        for (auto id : published)
            w.exec_params("UPDATE outbox SET published_at = now() WHERE id = $1", id);
        for (const auto& [id, why] : invalid) {
            log::error("outbox row is not a valid job; set aside",
                       {{"outboxId", id}, {"error", why}});
            w.exec_params(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, failed_at = now() "
                "WHERE id = $1",
                id, why);
        }
        for (const auto& [id, why] : refused) {
            auto r = w.exec_params1(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, "
                "failed_at = CASE WHEN attempts + 1 >= $3 THEN now() END "
                "WHERE id = $1 RETURNING attempts, failed_at IS NOT NULL",
                id, why, max_attempts);
            nlohmann::json fields = {
                {"outboxId", id}, {"attempts", r[0].as<int>()}, {"error", why}};
            if (r[1].as<bool>())
                log::error("outbox job refused too often; set aside", fields);
            else
                log::warn("outbox job refused; will retry", fields);
        }
        return static_cast<int>(rows.size());
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

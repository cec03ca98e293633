#include "bazaar/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <mutex>
#include <vector>

#include "bazaar/log.hpp"

namespace bazaar {

namespace {
struct Statement {
    std::string name;
    std::string sql;
};
std::vector<Statement>& statements() {
    static std::vector<Statement> s;
    return s;
}
std::mutex& statements_mutex() {
    static std::mutex m;
    return m;
}

bool is_connection_state(const std::string& sqlstate) {
    // 08: connection exception; 57P01..03: admin shutdown, crash shutdown, cannot connect now.
    return sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" || sqlstate == "57P02" ||
           sqlstate == "57P03";
}
}  // namespace

void prepare_statement(std::string name, std::string sql) {
    std::lock_guard lock(statements_mutex());
    for (auto& s : statements()) {
        if (s.name == name) {
            s.sql = std::move(sql);
            return;
        }
    }
    statements().push_back({std::move(name), std::move(sql)});
}

Pg::Pg(std::string conninfo) : conninfo_(std::move(conninfo)) {}

Pg::~Pg() {
    disconnect();
}

void Pg::disconnect() {
    if (!conn_) return;
    try {
        conn_->disconnect();
    } catch (...) {
    }
    conn_.reset();
}

pqxx::connection& Pg::connection() {
    if (conn_) return *conn_;
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) throw Error::unavailable("database");
    try {
        auto c = std::make_unique<pqxx::connection>(conninfo_);
        std::vector<Statement> copy;
        {
            std::lock_guard lock(statements_mutex());
            copy = statements();
        }
        for (const auto& s : copy) c->prepare(s.name, s.sql);
        conn_ = std::move(c);
    } catch (const std::exception& e) {
        next_attempt_ = now + kReconnectBackoff;
        log::warn("postgres connect failed", {{"error", e.what()}});
        throw Error::unavailable("database");
    }
    return *conn_;
}

void Pg::drop_if_closed() {
    if (!conn_) return;
    // An idle connection has nothing to read; readable or hung up means the
    // server closed it (restart, idle timeout, pg_terminate_backend).
    pollfd p{conn_->sock(), static_cast<short>(POLLIN | POLLRDHUP), 0};
    if (p.fd < 0 || poll(&p, 1, 0) > 0) {
        log::info("postgres connection closed by the server, reconnecting");
        disconnect();
    }
}

bool Pg::handle_failure(std::exception_ptr e, int attempt, bool reused) {
    bool lost = false;  // the connection is gone, and no commit is in doubt
    try {
        std::rethrow_exception(e);
    } catch (const pqxx::in_doubt_error& ex) {
        log::error("postgres commit in doubt", {{"error", ex.what()}});
    } catch (const pqxx::broken_connection& ex) {
        log::warn("postgres connection lost", {{"error", ex.what()}});
        lost = true;
    } catch (const pqxx::transaction_rollback& ex) {
        // serialization_failure, deadlock_detected: safe to run again.
        if (attempt < 3) return true;
        throw Error(ErrorCode::kConflict, "the request conflicted with a concurrent change, retry");
    } catch (const pqxx::sql_error& ex) {
        if (ex.sqlstate() == "57014") throw Error::unavailable("database");
        if (!is_connection_state(ex.sqlstate())) return false;
        log::warn("postgres connection lost", {{"error", ex.what()}});
        lost = true;
    } catch (const pqxx::failure&) {
        return false;
    }
    disconnect();
    if (lost && reused && attempt == 0) return true;
    next_attempt_ = std::chrono::steady_clock::now() + kReconnectBackoff;
    throw Error::unavailable("database");
}

/* ---- health probe ---- */

namespace {
bool wait_socket(PGconn* c, bool for_write, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{PQsocket(c), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    return poll(&p, 1, static_cast<int>(left)) > 0;
}
}  // namespace

bool pg_probe(const std::string& conninfo, int timeout_ms, std::string* error) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::unique_ptr<PGconn, void (*)(PGconn*)> c(PQconnectStart(conninfo.c_str()), PQfinish);
    auto fail = [&](const char* why) {
        if (error) *error = why;
        return false;
    };
    if (!c || PQstatus(c.get()) == CONNECTION_BAD) return fail("connect failed");
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) return fail("connect failed");
        if (!wait_socket(c.get(), st == PGRES_POLLING_WRITING, deadline)) return fail("timeout");
        st = PQconnectPoll(c.get());
    }
    if (!PQsendQuery(c.get(), "SELECT 1")) return fail("send failed");
    while (true) {
        if (!PQconsumeInput(c.get())) return fail("read failed");
        if (!PQisBusy(c.get())) break;
        if (!wait_socket(c.get(), false, deadline)) return fail("timeout");
    }
    bool ok = true;
    while (PGresult* r = PQgetResult(c.get())) {
        if (PQresultStatus(r) != PGRES_TUPLES_OK) ok = false;
        PQclear(r);
    }
    return ok ? true : fail("query failed");
}

}  // namespace bazaar

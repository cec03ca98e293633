#include "bazaar/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "bazaar/log.hpp"
#include "bazaar/pg_deadline.hpp"
#include "bazaar/pg_prepared.hpp"

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

namespace {

// Channels to notify per connection of this thread, after the commit of the
// transaction running on it (a connection is used by one thread).
thread_local std::vector<std::pair<const pqxx::connection_base*, std::string>> t_notifies;

}  // namespace

void notify_after_commit(pqxx::transaction_base& tx, const std::string& channel) {
    const pqxx::connection_base* c = &tx.conn();
    for (const auto& [conn, ch] : t_notifies)
        if (conn == c && ch == channel) return;
    t_notifies.emplace_back(c, channel);
}

void detail::discard_notifies(pqxx::connection_base& c) {
    std::erase_if(t_notifies, [&](const auto& p) { return p.first == &c; });
}

void detail::send_notifies(pqxx::connection_base& c) {
    if (t_notifies.empty()) return;
    std::vector<std::string> channels;
    for (const auto& [conn, ch] : t_notifies)
        if (conn == &c) channels.push_back(ch);
    discard_notifies(c);
    if (channels.empty()) return;
    try {
        pqxx::nontransaction n(c);
        std::string sql;
        for (const auto& ch : channels) sql += "NOTIFY " + ch + ";";
        n.exec0(sql);
    } catch (const std::exception& e) {
        log::warn("NOTIFY after commit failed; listeners find the rows at their next poll",
                  {{"error", e.what()}});
    }
}

std::string detail::prepared_name(pqxx::connection_base& conn, const std::string& sql) {
    // FNV-1a: a stable name per text; libpqxx refuses a name redefined with
    // another text, so a collision would be an exception, never a wrong query.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : sql) h = (h ^ c) * 1099511628211ull;
    char name[24];
    std::snprintf(name, sizeof name, "q%016llx", static_cast<unsigned long long>(h));
    conn.prepare(name, sql);
    return name;
}

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

/* ---- deadlines: the connect policy and the watchdog ---- */

namespace detail {

// One per Pg, registered with the watchdog for the Pg's lifetime. `fd` is
// set (under `mu`) while a transaction runs; the watchdog shuts it down once
// `deadline` has passed. Arming, disarming and closing the connection all
// happen under `mu`, so the watchdog never touches a descriptor that libpq
// has closed and the kernel has handed to someone else.
struct WatchSlot {
    std::mutex mu;
    int fd = -1;
    std::chrono::steady_clock::time_point deadline;
    bool fired = false;
};

}  // namespace detail

namespace {

using Clock = std::chrono::steady_clock;

// The resolution of transaction deadlines.
constexpr auto kWatchdogTick = std::chrono::milliseconds(50);

// The process-wide watchdog. Its registry changes only when a Pg is made or
// destroyed (thread start and end), so the request path never takes its lock;
// a transaction only locks its own slot.
class Watchdog {
  public:
    static Watchdog& instance() {
        // Never destroyed: threads may outlive static destruction.
        static Watchdog* w = new Watchdog();
        return *w;
    }
    void add(detail::WatchSlot* s) {
        std::lock_guard lock(mu_);
        slots_.push_back(s);
        if (!started_) {
            started_ = true;
            std::thread([this] { loop(); }).detach();
        }
    }
    void remove(detail::WatchSlot* s) {
        std::lock_guard lock(mu_);
        slots_.erase(std::remove(slots_.begin(), slots_.end(), s), slots_.end());
    }

  private:
    void loop() {
        for (;;) {
            std::this_thread::sleep_for(kWatchdogTick);
            auto now = Clock::now();
            std::lock_guard lock(mu_);
            for (auto* s : slots_) {
                std::lock_guard slot_lock(s->mu);
                if (s->fd < 0 || s->fired || now < s->deadline) continue;
                // Wakes libpq's poll()/recv() with end-of-file; libpq then
                // reports the connection as broken.
                ::shutdown(s->fd, SHUT_RDWR);
                s->fired = true;
            }
        }
    }
    std::mutex mu_;
    std::vector<detail::WatchSlot*> slots_;
    bool started_ = false;
};

// The connect deadline of the calling thread's Pg, read by the connect
// policy (libpqxx constructs the policy from the connection string only).
// The epoch (zero) means unbounded.
thread_local Clock::time_point t_connect_deadline{};

bool wait_socket(PGconn* c, bool for_write, Clock::time_point deadline) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{PQsocket(c), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    return poll(&p, 1, static_cast<int>(left)) > 0;
}

// libpq's non-blocking connect, finished under `deadline`. Returns the
// connection (CONNECTION_OK) or nullptr with `error` set.
PGconn* connect_until(const std::string& conninfo, Clock::time_point deadline, std::string* error) {
    PGconn* c = PQconnectStart(conninfo.c_str());
    auto fail = [&](std::string why) -> PGconn* {
        if (c && PQerrorMessage(c) && *PQerrorMessage(c))
            why += ": " + std::string(PQerrorMessage(c));
        if (error) *error = why;
        if (c) PQfinish(c);
        return nullptr;
    };
    if (!c || PQstatus(c) == CONNECTION_BAD) return fail("connect failed");
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) return fail("connect failed");
        if (!wait_socket(c, st == PGRES_POLLING_WRITING, deadline))
            return fail("connect timed out");
        st = PQconnectPoll(c);
    }
    return c;
}

}  // namespace

namespace detail {

pqxx::connectionpolicy::handle ConnectWithDeadline::do_startconnect(handle orig) {
    if (orig) return orig;
    if (t_connect_deadline == Clock::time_point{}) return normalconnect(orig);
    std::string error;
    PGconn* c = connect_until(options(), t_connect_deadline, &error);
    if (!c) throw pqxx::broken_connection(error);
    return c;
}

}  // namespace detail

Pg::Watch::Watch(Pg& pg) : pg_(pg) {
    if (pg_.timeout_ms_ <= 0) return;
    std::lock_guard lock(pg_.slot_->mu);
    pg_.slot_->fd = pg_.conn_ ? pg_.conn_->sock() : -1;
    // The call's deadline, not a fresh one: connecting and every run of the
    // function share one PG_TIMEOUT_MS.
    pg_.slot_->deadline = pg_.call_deadline_;
    pg_.slot_->fired = false;
}

Pg::Watch::~Watch() {
    if (pg_.timeout_ms_ <= 0) return;
    std::lock_guard lock(pg_.slot_->mu);
    pg_.slot_->fd = -1;
    if (pg_.slot_->fired) pg_.timed_out_ = true;
}

/* ---- connection ---- */

Pg::Pg(std::string conninfo, int timeout_ms)
    : conninfo_(std::move(conninfo)),
      timeout_ms_(timeout_ms),
      slot_(std::make_unique<detail::WatchSlot>()) {
    Watchdog::instance().add(slot_.get());
}

Pg::~Pg() {
    disconnect();
    Watchdog::instance().remove(slot_.get());
}

void Pg::disconnect() {
    if (!conn_) return;
    std::lock_guard lock(slot_->mu);  // the watchdog must not see this fd close
    slot_->fd = -1;
    try {
        conn_->disconnect();
    } catch (...) {
    }
    conn_.reset();
}

pqxx::connection_base& Pg::connection() {
    if (conn_) return *conn_;
    auto now = std::chrono::steady_clock::now();
    if (now < next_attempt_) throw Error::unavailable("database");
    // The call's time went on an earlier attempt: no connect now.
    if (timeout_ms_ > 0 && now >= call_deadline_) throw Error::unavailable("database");
    try {
        t_connect_deadline = timeout_ms_ > 0 ? call_deadline_ : Clock::time_point{};
        auto c = std::make_unique<detail::Connection>(conninfo_);
        // libpqxx 6 would "reactivate" a broken connection by itself, inside
        // an exec: a new connection the watchdog does not watch, opened while
        // the old descriptor is closed under it, and a statement run twice.
        // Broken connections are dropped and replaced here instead.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        c->inhibit_reactivation(true);
#pragma GCC diagnostic pop
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
    commit_in_doubt_ = committing_;
    if (timed_out_) {
        // Whatever libpq made of the cut connection (broken, in doubt), the
        // server did not answer in time: never run it again in this call.
        log::warn("postgres did not answer in time; connection dropped",
                  {{"timeoutMs", timeout_ms_}});
        disconnect();
        next_attempt_ = std::chrono::steady_clock::now() + kReconnectBackoff;
        throw Error::unavailable("database");
    }
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
    // A kept connection the server closed while it sat idle: the server
    // rolled back whatever this call had begun, so it runs once more on a
    // new connection, but only when COMMIT was never sent: a commit whose
    // outcome is unknown (libpqxx may report it as a plain lost connection
    // or a connection-class SQLSTATE) must never run twice.
    if (lost && reused && attempt == 0 && !commit_in_doubt_) return true;
    next_attempt_ = std::chrono::steady_clock::now() + kReconnectBackoff;
    throw Error::unavailable("database");
}

/* ---- deadlines outside transact() (pg_deadline.hpp) ---- */

void ConnectionDeleter::operator()(pqxx::connection_base* c) const {
    delete static_cast<detail::Connection*>(c);
}

OwnedConnection connect_with_deadline(const std::string& conninfo, int timeout_ms) {
    t_connect_deadline =
        timeout_ms > 0 ? Clock::now() + std::chrono::milliseconds(timeout_ms) : Clock::time_point{};
    return OwnedConnection(new detail::Connection(conninfo));
}

SocketDeadline::SocketDeadline(pqxx::connection_base& conn, int timeout_ms)
    : slot_(std::make_unique<detail::WatchSlot>()) {
    slot_->fd = conn.sock();
    slot_->deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    Watchdog::instance().add(slot_.get());
}

SocketDeadline::~SocketDeadline() {
    Watchdog::instance().remove(slot_.get());
}

bool SocketDeadline::fired() const {
    std::lock_guard lock(slot_->mu);
    return slot_->fired;
}

/* ---- health probe ---- */

bool pg_probe(const std::string& conninfo, int timeout_ms, std::string* error) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    std::unique_ptr<PGconn, void (*)(PGconn*)> c(connect_until(conninfo, deadline, error),
                                                 PQfinish);
    auto fail = [&](const char* why) {
        if (error) *error = why;
        return false;
    };
    if (!c) return false;
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

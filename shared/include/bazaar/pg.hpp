// A Postgres connection (libpqxx 6.4) owned by one thread, opened lazily.
//
// All SQL runs inside `transact()`: one call is one transaction. Failure
// policy, in one place:
//   - the connection broke (server restarted, network gone): the connection
//     is dropped; when it was an idle connection from an earlier call (the
//     server went away while it sat in this thread) the function runs once
//     more on a new connection, since the old server rolled back whatever
//     it had begun. Otherwise Error(kUnavailable) is thrown and a later call
//     reconnects (no more often than every kReconnectBackoff), so handlers
//     recover by themselves when Postgres is back. A commit whose outcome is
//     unknown is never re-run. libpqxx 6's implicit reactivation is
//     unreliable (STACK.md), so it is never relied on.
//   - serialization failure or deadlock: the function is run again, up to
//     three times, then Error(kConflict).
//   - statement timeout: Error(kUnavailable).
//   - a client-side deadline bounds every call, because libpq has none for a
//     query on an open connection: a frozen server (SIGSTOP, a VM paused, a
//     network that drops packets without a reset) keeps the kernel ACKing and
//     libpq waiting forever; `statement_timeout` is enforced by that same
//     frozen server, and TCP keepalives and `tcp_user_timeout` are answered
//     by its kernel. So connecting runs libpq's non-blocking connect under a
//     poll() deadline, and each transaction is watched by a process-wide
//     watchdog thread that shuts the socket down (shutdown(2), never close:
//     the descriptor stays owned by libpq) once the deadline passes. libpq
//     then sees the connection end, the call throws Error(kUnavailable), the
//     connection is dropped and never retried in this call. The bound is
//     `timeout_ms` per transact() call, connecting and any re-run included
//     (PG_TIMEOUT_MS for request and job threads; 0 = unbounded, for the
//     CLI's migrations); a job that needs a longer transaction raises it with
//     `set_timeout_ms()`. libpqxx's own reactivation (a silent reconnect
//     inside an exec, past the deadline and unwatched) is inhibited.
// Named statements are declared once per process with `prepare_statement()`
// and prepared on every new connection.
#pragma once

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>

#include "bazaar/error.hpp"

namespace bazaar {

// Declare a named statement for every connection of this process. Call before
// threads start (static registration from domain modules is fine).
void prepare_statement(std::string name, std::string sql);

// Sends `NOTIFY channel` once the transaction of `tx` has committed, on the
// same connection but outside it (nothing is sent on a rollback). A NOTIFY
// inside a transaction holds Postgres's notify lock through the commit's WAL
// flush, so concurrent committers that notify line up one fsync after the
// other; outside, the lock is held for a transaction that writes no WAL.
// Best effort: a failure is logged (listeners poll as well).
void notify_after_commit(pqxx::transaction_base& tx, const std::string& channel);

namespace detail {
// notify_after_commit()'s queue of one connection: dropped before each
// attempt of a transaction, sent after its commit.
void discard_notifies(pqxx::connection_base& c);
void send_notifies(pqxx::connection_base& c);
struct WatchSlot;
// The connection type: libpqxx's connection with a connect bounded by the
// deadline of the calling Pg (see the header comment).
class ConnectWithDeadline : public pqxx::connectionpolicy {
  public:
    explicit ConnectWithDeadline(const std::string& opts) : pqxx::connectionpolicy(opts) {}
    handle do_startconnect(handle orig) override;
};
using Connection = pqxx::basic_connection_base<ConnectWithDeadline>;
}  // namespace detail

class Pg {
  public:
    static constexpr auto kReconnectBackoff = std::chrono::milliseconds(200);

    // `timeout_ms` bounds connecting and each transact() call; 0: unbounded.
    explicit Pg(std::string conninfo, int timeout_ms = 0);
    ~Pg();
    Pg(const Pg&) = delete;
    Pg& operator=(const Pg&) = delete;

    template <class F>
    auto transact(F&& fn) -> std::invoke_result_t<F, pqxx::work&>;

    void disconnect();
    const std::string& conninfo() const { return conninfo_; }

    // The last transact() threw Error(kUnavailable) after COMMIT was sent
    // (a timeout or a lost connection during it): the transaction may have
    // committed. Before COMMIT a failure surely rolled it back.
    bool commit_in_doubt() const { return commit_in_doubt_; }

    int timeout_ms() const { return timeout_ms_; }
    void set_timeout_ms(int ms) { timeout_ms_ = ms; }

  private:
    // The open connection, or a new one within the current call's deadline.
    pqxx::connection_base& connection();
    // Maps a libpqxx failure to the policy above; returns true to retry.
    bool handle_failure(std::exception_ptr e, int attempt, bool reused);
    // Drops a kept connection whose server has closed it meanwhile.
    void drop_if_closed();
    // The watchdog's view of this connection during one transaction.
    class Watch {
      public:
        explicit Watch(Pg& pg);
        ~Watch();

      private:
        Pg& pg_;
    };

    std::string conninfo_;
    int timeout_ms_;
    std::unique_ptr<detail::Connection> conn_;
    std::unique_ptr<detail::WatchSlot> slot_;
    bool timed_out_ = false;  // the watchdog cut the last transaction's connection
    // The end of the current transact() call's PG_TIMEOUT_MS: connecting and
    // every run of the function (a retry too) happen before it.
    std::chrono::steady_clock::time_point call_deadline_{};
    bool committing_ = false;
    bool commit_in_doubt_ = false;
    std::chrono::steady_clock::time_point next_attempt_{};
};

template <class F>
auto Pg::transact(F&& fn) -> std::invoke_result_t<F, pqxx::work&> {
    drop_if_closed();
    call_deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
    for (int attempt = 0;; ++attempt) {
        bool reused = conn_ != nullptr;
        timed_out_ = false;
        committing_ = false;
        commit_in_doubt_ = false;
        try {
            pqxx::connection_base& c = connection();
            Watch watch(*this);
            detail::discard_notifies(c);
            pqxx::work w(c);
            if constexpr (std::is_void_v<std::invoke_result_t<F, pqxx::work&>>) {
                fn(w);
                committing_ = true;
                w.commit();
                detail::send_notifies(c);
                return;
            } else {
                auto result = fn(w);
                committing_ = true;
                w.commit();
                detail::send_notifies(c);
                return result;
            }
        } catch (const Error&) {
            throw;
        } catch (const pqxx::failure&) {
            if (!handle_failure(std::current_exception(), attempt, reused)) throw;
        }
    }
}

// Opens a fresh connection and runs SELECT 1, all within `timeout_ms`, even
// when the server accepts connections but never answers. For /health.
bool pg_probe(const std::string& conninfo, int timeout_ms, std::string* error);

}  // namespace bazaar

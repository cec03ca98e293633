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

class Pg {
  public:
    static constexpr auto kReconnectBackoff = std::chrono::milliseconds(200);

    explicit Pg(std::string conninfo);
    ~Pg();
    Pg(const Pg&) = delete;
    Pg& operator=(const Pg&) = delete;

    template <class F>
    auto transact(F&& fn) -> std::invoke_result_t<F, pqxx::work&>;

    void disconnect();
    pqxx::connection& connection();

  private:
    // Maps a libpqxx failure to the policy above; returns true to retry.
    bool handle_failure(std::exception_ptr e, int attempt, bool reused);
    // Drops a kept connection whose server has closed it meanwhile.
    void drop_if_closed();

    std::string conninfo_;
    std::unique_ptr<pqxx::connection> conn_;
    std::chrono::steady_clock::time_point next_attempt_{};
};

template <class F>
auto Pg::transact(F&& fn) -> std::invoke_result_t<F, pqxx::work&> {
    drop_if_closed();
    for (int attempt = 0;; ++attempt) {
        bool reused = conn_ != nullptr;
        try {
            pqxx::work w(connection());
            if constexpr (std::is_void_v<std::invoke_result_t<F, pqxx::work&>>) {
                fn(w);
                w.commit();
                return;
            } else {
                auto result = fn(w);
                w.commit();
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

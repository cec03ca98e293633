// Deadlines for Postgres work that does not go through Pg::transact(): the
// outbox relay's LISTEN connection. The same machinery as Pg's (pg.hpp's
// header comment): a connect bounded by poll(), and the process-wide watchdog
// that shuts a socket down once its deadline has passed, so a frozen server
// cannot hold a thread in connect, LISTEN or UNLISTEN.
#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>

namespace bazaar {

namespace detail {
struct WatchSlot;
}

// Opens a connection within `timeout_ms` or throws pqxx::broken_connection.
// Deletes through the concrete type: connection_base has no virtual destructor.
struct ConnectionDeleter {
    void operator()(pqxx::connection_base* c) const;
};
using OwnedConnection = std::unique_ptr<pqxx::connection_base, ConnectionDeleter>;
OwnedConnection connect_with_deadline(const std::string& conninfo, int timeout_ms);

// While alive, `conn`'s socket is shut down if `timeout_ms` passes; libpqxx
// then throws pqxx::broken_connection from whatever call was waiting. The
// connection is dead after that: drop it. Must be destroyed before `conn`.
class SocketDeadline {
  public:
    SocketDeadline(pqxx::connection_base& conn, int timeout_ms);
    ~SocketDeadline();
    SocketDeadline(const SocketDeadline&) = delete;
    SocketDeadline& operator=(const SocketDeadline&) = delete;
    bool fired() const;

  private:
    std::unique_ptr<detail::WatchSlot> slot_;
};

}  // namespace bazaar

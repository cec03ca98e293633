// Statements prepared on demand, per connection (see exec_prepared()).
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <utility>

namespace bazaar {

namespace detail {
// The name under which `sql` is prepared on `conn`, declared there on first
// use (libpqxx sends the PREPARE with the first execution).
std::string prepared_name(pqxx::connection_base& conn, const std::string& sql);
}  // namespace detail

// Runs `sql` as a prepared statement of the transaction's connection: parsed
// and planned once per connection, not on every call (parsing and planning
// were half of Postgres's CPU under checkout load: bench/RESULTS.md). For
// fixed texts only: a text that varies per call would prepare a statement
// per call for the life of the connection.
template <class... Args>
pqxx::result exec_prepared(pqxx::transaction_base& w, const std::string& sql, Args&&... args) {
    return w.exec_prepared(detail::prepared_name(w.conn(), sql), std::forward<Args>(args)...);
}
template <class... Args>
pqxx::row exec_prepared1(pqxx::transaction_base& w, const std::string& sql, Args&&... args) {
    return w.exec_prepared1(detail::prepared_name(w.conn(), sql), std::forward<Args>(args)...);
}

}  // namespace bazaar

// The FastCGI front: connections are not threads.
//
// L loop threads per process (FCGI_LOOPS, default one per core) each own an
// epoll set of kept nginx connections, edge-triggered. A readable connection
// is peeked at (MSG_PEEK) and the FastCGI record scanner (fcgi_records.hpp)
// says whether a whole request is in the socket buffer; only then does
// libfcgi read it (FCGX_Accept_r on the connection's own FCGX_Request whose
// ipcFd is the connection: every read finds its bytes, none blocks). A loop
// thread runs the fast routes itself (loop_routes.hpp) and writes the
// response; under load one epoll_wait returns many ready connections and one
// wake-up serves them all. Other routes, and requests larger than the peek
// window (uploads), go with their connection to a pool of P worker threads
// (FCGI_THREADS), which read the rest of the body with blocking reads under
// a deadline (FCGI_IO_TIMEOUT_MS) and hand the connection back when done. A
// connection that sent half a request and stalls holds no thread at all.
//
// Every thread (loop or pool) owns its Backends; no lock on the request path
// except the pool's queue. Per request, in order: request id, routing
// (404/405), body limit (413), body, handler, error mapping, response, then
// metrics and the access log line.
//
// libfcgi details this relies on (libfcgi 2.4.2, checked in its code):
// FCGX_Accept_r with ipcFd >= 0 skips accept() and reads the request;
// FCGX_Finish_r closes ipcFd unless keepConnection is set, and closes with a
// shutdown + select() wait of up to 2 s unless `detached` is set (select()
// on an fd above 1023 overflows its fd_set). So both are set before every
// libfcgi call and the front decides itself when a connection closes.
//
// SIGTERM: stop accepting, answer every request already begun, close idle
// kept connections (nginx retries another process), wait up to the grace
// period for the rest, exit 0.
#pragma once

#include <fcgiapp.h>

#include <atomic>
#include <cstddef>
#include <string_view>
#include <vector>

#include "bazaar/config.hpp"
#include "router.hpp"

namespace bazaar::http {

class Server {
  public:
    Server(const Config& config, const Router& router);

    // Opens the unix socket, runs the loops and the pool until SIGTERM or
    // SIGINT, then drains (above) for up to `grace_ms`. Returns the exit status.
    int run(int grace_ms = 10000);

    // Runs a routed request through its handler and maps errors (also the
    // 404/405 of an unmatched route) to responses.
    Response dispatch(const RouteMatch& m, Request& req, Backends& backends) const;

    // Implementation types (server.cpp).
    struct Conn;
    struct Loop;
    struct Pending;
    struct Pool;

  private:
    void loop_main(Loop& loop);
    void pool_main();
    void accept_ready(Loop& loop);
    void serve_ready(Loop& loop, Conn& c, bool hangup);
    void close_conn(Loop& loop, Conn& c);
    void adopt(Conn* c);
    void give_back(Conn& c);
    // The steps of one request (server.cpp, "one request, in its steps").
    void begin(Pending& p) const;
    void finish(Pending& p, Backends& backends) const;
    void account(const Request& req, const Response& resp, std::size_t route_index,
                 double seconds) const;

    const Config& config_;
    const Router& router_;
    std::vector<bool> on_loop_;  // by route index
    int listen_fd_ = -1;
    bool tcp_ = false;  // FCGI_SOCKET is host:port
    std::vector<Loop*> loops_;
    Pool* pool_ = nullptr;
    std::atomic<unsigned> next_loop_{0};
    std::atomic<bool> stopping_{false};
    std::atomic<int> in_flight_{0};
    std::atomic<int> conns_{0};
};

}  // namespace bazaar::http

// The FastCGI front: T threads per process, each blocked in FCGX_Accept_r on
// the shared listening socket, each with its own Backends. No lock is taken
// on the request path.
//
// Per request, in order: request id (echoed from X-Request-Id when sane,
// otherwise generated), routing (404/405), body read with the route's size
// limit (413), the handler, error mapping (bazaar::Error → its status and
// JSON; anything else → 500 INTERNAL, logged, never shown), the response, then
// metrics and the access log line, after the response has been flushed.
//
// Threads and nginx keep-alive: with `fastcgi_keep_conn on` libfcgi pins a
// thread to each connection nginx keeps open, so FCGI_THREADS must exceed the
// upstream keepalive of nginx × its workers (see nginx/nginx.conf.in).
#pragma once

#include <fcgiapp.h>

#include <atomic>
#include <cstddef>
#include <string_view>

#include "bazaar/config.hpp"
#include "router.hpp"

namespace bazaar::http {

class Server {
public:
    Server(const Config& config, const Router& router);

    // Opens the unix socket, runs the threads until SIGTERM/SIGINT, then
    // drains: stops accepting and waits up to `grace_ms` for requests in
    // flight. Returns the process exit status.
    int run(int grace_ms = 10000);

    // Runs a routed request through its handler and maps errors (also the
    // 404/405 of an unmatched route) to responses.
    Response dispatch(const RouteMatch& m, Request& req, Backends& backends) const;

private:
    void thread_main(int listen_fd);
    // The steps of one request (server.cpp, "one request, in its steps").
    Request read_request(FCGX_Request& fr, std::string_view& raw_path,
                         std::string_view& raw_query) const;
    Response route_and_dispatch(FCGX_Request& fr, Request& req, std::string_view raw_path,
                                std::string_view raw_query, Backends& backends,
                                std::size_t& route_index) const;
    void account(const Request& req, const Response& resp, std::size_t route_index,
                 double seconds) const;

    const Config& config_;
    const Router& router_;
    std::atomic<int> in_flight_{0};
};

}  // namespace bazaar::http

#include "server.hpp"

#include <fcgiapp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/time.hpp"

namespace bazaar::http {

namespace {

const char* param(char** env, const char* name) {
    const char* v = FCGX_GetParam(name, env);
    return v ? v : "";
}

bool sane_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

Response error_response(const Error& e) {
    Response r = Response::raw_json(e.body(), e.http_status());
    for (const auto& [k, v] : e.headers()) r.header(k, v);
    return r;
}

void write_response(FCGX_Request& fr, const Request& req, const Response& resp) {
    std::string head;
    head.reserve(256 + resp.body.size());
    head += "Status: ";
    head += std::to_string(resp.status);
    head += ' ';
    head += status_reason(resp.status);
    head += "\r\n";
    if (!resp.content_type.empty()) {
        head += "Content-Type: ";
        head += resp.content_type;
        head += "\r\n";
    }
    // A length lets nginx pass the body on without chunked encoding.
    head += "Content-Length: ";
    head += std::to_string(resp.body.size());
    head += "\r\n";
    head += "X-Request-Id: ";
    head += req.request_id;
    head += "\r\n";
    for (const auto& [k, v] : resp.headers) {
        head += k;
        head += ": ";
        head += v;
        head += "\r\n";
    }
    head += "\r\n";
    head += resp.body;
    FCGX_PutStr(head.data(), static_cast<int>(head.size()), fr.out);
}

// Discards what is left of the body so the connection stays usable.
void drain(FCGX_Stream* in) {
    char buf[16384];
    while (FCGX_GetStr(buf, sizeof buf, in) > 0) {
    }
}

}  // namespace

Server::Server(const Config& config, const Router& router) : config_(config), router_(router) {}

Response Server::dispatch(const RouteMatch& m, Request& req, Backends& backends) const {
    try {
        if (!m.route) {
            if (!m.allow.empty()) {
                throw Error(ErrorCode::kMethodNotAllowed,
                            "method " + req.method + " is not allowed here")
                    .with_header("Allow", m.allow);
            }
            throw Error(ErrorCode::kNotFound, "no route for " + req.path);
        }
        return m.route->handler(req, backends);
    } catch (const Error& e) {
        if (e.http_status() >= 500)
            log::warn("request failed", {{"status", e.http_status()}, {"error", e.what()}});
        try {
            return error_response(e);
        } catch (const std::exception& inner) {
            log::error("cannot render an error", {{"error", inner.what()}});
        }
    } catch (const std::exception& e) {
        log::error("unhandled exception", {{"error", e.what()}, {"path", req.path}});
    }
    // Nothing may escape a handler thread: that would terminate the process.
    static const std::string internal = Error(ErrorCode::kInternal, "internal error").body();
    return Response::raw_json(internal, 500);
}

/* ---- one request, in its steps ------------------------------------------- */

// The request line and headers from the FastCGI params; the body is read
// later, once the route's size limit is known. Sets the request id (the
// client's when sane, else nginx's $request_id, else a new one) for the log.
Request Server::read_request(FCGX_Request& fr, std::string_view& raw_path,
                             std::string_view& raw_query) const {
    Request req;
    req.env = fr.envp;
    req.method = param(fr.envp, "REQUEST_METHOD");
    std::string_view uri = param(fr.envp, "REQUEST_URI");
    auto qpos = uri.find('?');
    raw_path = uri.substr(0, qpos);
    raw_query = qpos == std::string_view::npos ? std::string_view{} : uri.substr(qpos + 1);
    req.content_type = param(fr.envp, "CONTENT_TYPE");
    req.client_ip = param(fr.envp, "REMOTE_ADDR");
    // The client's id when it sent a sane one, otherwise the id nginx
    // already made for its own access log line ($request_id).
    std::string_view rid = param(fr.envp, "HTTP_X_REQUEST_ID");
    if (!sane_request_id(rid)) rid = param(fr.envp, "NGINX_REQUEST_ID");
    req.request_id = sane_request_id(rid) ? std::string(rid) : random_hex(16);
    log::set_request_id(req.request_id);
    return req;
}

// URL decoding, routing, the body limit (413, the body drained so the kept
// connection stays usable), the body, the handler; every failure becomes a
// response (dispatch maps errors). `route_index`: the matched route's, 0 if none.
Response Server::route_and_dispatch(FCGX_Request& fr, Request& req, std::string_view raw_path,
                                    std::string_view raw_query, Backends& backends,
                                    std::size_t& route_index) const {
    auto path = percent_decode(raw_path, false);
    auto query = parse_query(raw_query);
    if (!path || !query) {
        return error_response(Error(ErrorCode::kValidationFailed,
                                    "the URL has a malformed percent-escape or an escaped NUL"));
    }
    req.path = std::move(*path);
    req.query = std::move(*query);
    long long length = std::atoll(param(fr.envp, "CONTENT_LENGTH"));
    RouteMatch m = router_.match(req.method, req.path, req.path_params);
    if (m.route) route_index = m.route->index;
    std::size_t limit =
        m.route && m.route->options.max_body ? m.route->options.max_body : config_.json_body_limit;
    if (length > static_cast<long long>(limit)) {
        drain(fr.in);
        return error_response(Error(ErrorCode::kPayloadTooLarge,
                                    "request body exceeds " + std::to_string(limit) + " bytes"));
    }
    if (length > 0) {
        req.body.resize(static_cast<size_t>(length));
        int got = FCGX_GetStr(req.body.data(), static_cast<int>(length), fr.in);
        req.body.resize(got > 0 ? static_cast<size_t>(got) : 0);
    }
    return dispatch(m, req, backends);
}

// After the response is flushed: the metrics, and the access log line for
// every request (ACCESS_LOG_ALL) or only the notable ones (5xx, slow).
void Server::account(const Request& req, const Response& resp, std::size_t route_index,
                     double seconds) const {
    metrics::observe_request(route_index, resp.status, seconds);
    bool notable = resp.status >= 500 || seconds * 1000.0 >= config_.slow_request_ms;
    if ((config_.access_log_all || notable) && log::enabled(log::Level::kInfo)) {
        log::info("request", {{"method", req.method},
                              {"path", req.path},
                              {"status", resp.status},
                              {"ms", seconds * 1000.0},
                              {"ip", req.client_ip}});
    }
}

// One handler thread: accept, read, route and dispatch, write, account.
void Server::thread_main(int listen_fd) {
    Backends backends(config_);
    FCGX_Request fr;
    FCGX_InitRequest(&fr, listen_fd, 0);
    while (FCGX_Accept_r(&fr) >= 0) {
        in_flight_.fetch_add(1);
        auto t0 = std::chrono::steady_clock::now();
        std::string_view raw_path, raw_query;
        Request req = read_request(fr, raw_path, raw_query);
        std::size_t route_index = 0;
        Response resp = route_and_dispatch(fr, req, raw_path, raw_query, backends, route_index);
        try {
            write_response(fr, req, resp);
        } catch (const std::exception& e) {
            log::error("cannot write response", {{"error", e.what()}});
        }
        FCGX_Finish_r(&fr);
        account(req, resp, route_index,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        log::set_request_id({});
        in_flight_.fetch_sub(1);
    }
}

int Server::run(int grace_ms) {
    if (FCGX_Init() != 0) {
        log::error("FCGX_Init failed");
        return 1;
    }
    // FCGX_Init installs its own SIGTERM handler, which only sets a flag
    // (STACK.md); take the signals back and wait for them on this thread.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    unlink(config_.fcgi_socket.c_str());
    int fd = FCGX_OpenSocket(config_.fcgi_socket.c_str(), 1024);
    if (fd < 0) {
        log::error("cannot open FastCGI socket", {{"socket", config_.fcgi_socket}});
        return 1;
    }
    // nginx workers may run as another user.
    chmod(config_.fcgi_socket.c_str(), 0666);

    std::vector<std::thread> threads;
    for (int i = 0; i < config_.fcgi_threads; ++i)
        threads.emplace_back([this, fd] { thread_main(fd); });
    log::info("bazaar-fcgi ready",
              {{"socket", config_.fcgi_socket}, {"threads", config_.fcgi_threads}});

    int sig = 0;
    sigwait(&set, &sig);
    log::info("shutting down", {{"signal", sig}});
    FCGX_ShutdownPending();
    shutdown(fd, SHUT_RDWR);
    close(fd);
    unlink(config_.fcgi_socket.c_str());
    // Threads parked on a kept-alive nginx connection cannot be woken; wait
    // for the requests in flight, then leave without joining them.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
    while (in_flight_.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log::info("bazaar-fcgi stopped", {{"in_flight", in_flight_.load()}});
    for (auto& t : threads) t.detach();
    std::_Exit(0);
}

}  // namespace bazaar::http

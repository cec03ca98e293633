#include "server.hpp"

#include <fcgiapp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/time.hpp"
#include "fcgi_records.hpp"
#include "loop_routes.hpp"

namespace bazaar::http {

namespace {

// What a loop peeks at: a request up to this size is read by the loop only
// once it is all there; a larger one (an upload) goes to the pool.
constexpr std::size_t kPeekWindow = 64 * 1024;
constexpr int kMaxEvents = 256;
// epoll tags of the two non-connection fds of a loop.
void* const kListenTag = reinterpret_cast<void*>(1);
void* const kWakeTag = reinterpret_cast<void*>(2);

using Clock = std::chrono::steady_clock;

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

void append_number(std::string& out, std::size_t n) {
    char buf[24];
    int len = std::snprintf(buf, sizeof buf, "%zu", n);
    out.append(buf, static_cast<std::size_t>(len));
}

// The CGI response head and the body, in one FCGX_PutStr.
void write_response(FCGX_Request& fr, const Request& req, const Response& resp) {
    std::string out;
    out.reserve(160 + req.request_id.size() + resp.body.size());
    out += "Status: ";
    append_number(out, static_cast<std::size_t>(resp.status));
    out += ' ';
    out += status_reason(resp.status);
    out += "\r\n";
    if (!resp.content_type.empty()) {
        out += "Content-Type: ";
        out += resp.content_type;
        out += "\r\n";
    }
    // A length lets nginx pass the body on without chunked encoding.
    out += "Content-Length: ";
    append_number(out, resp.body.size());
    out += "\r\nX-Request-Id: ";
    out += req.request_id;
    out += "\r\n";
    for (const auto& [k, v] : resp.headers) {
        out += k;
        out += ": ";
        out += v;
        out += "\r\n";
    }
    out += "\r\n";
    out += resp.body;
    FCGX_PutStr(out.data(), static_cast<int>(out.size()), fr.out);
}

// Reads what is left of STDIN up to its end record, so that nothing of this
// request stays in the socket for the scanner to trip over. False when the
// stream failed (the peer went away, or the read deadline passed).
bool drain(FCGX_Stream* in) {
    char buf[16384];
    while (FCGX_GetStr(buf, sizeof buf, in) > 0) {
    }
    return FCGX_GetError(in) == 0;
}

void set_io_deadline(int fd, int ms) {
    timeval tv{ms / 1000, (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void wake(int efd) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(efd, &one, sizeof one);
}

}  // namespace

/* ---- the pieces ------------------------------------------------------------ */

// One kept nginx connection. Owned by its loop; while `busy` a pool thread
// has it (and the loop ignores its events until it comes back).
struct Server::Conn {
    int fd = -1;
    Loop* loop = nullptr;
    FCGX_Request fr{};
    bool busy = false;        // loop thread only
    bool keep = true;         // FCGI_KEEP_CONN of the last request
    bool broken = false;      // an I/O failure mid-request: close, answer nothing more
    bool lib_closed = false;  // libfcgi closed the fd itself (a protocol error)
};

// One request between "libfcgi has read its params" and "answered".
struct Server::Pending {
    Conn* conn = nullptr;
    Request req;
    RouteMatch match;
    std::size_t route_index = 0;
    long long length = 0;
    std::optional<Response> early;  // a malformed URL: answered without routing
    Clock::time_point t0;
};

struct Server::Loop {
    int epfd = -1;
    int wake_fd = -1;
    std::thread thread;
    Backends* backends = nullptr;
    std::vector<char> peek = std::vector<char>(kPeekWindow);
    std::unordered_set<Conn*> conns;  // loop thread only
    std::mutex mu;                    // guards the two hand-over lists
    std::vector<Conn*> adopted;       // accepted by another loop
    std::vector<Conn*> returned;      // finished by the pool
    std::atomic<bool> done{false};
};

struct Server::Pool {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Pending> queue;
    bool stop = false;
    std::vector<std::thread> threads;
};

Server::Server(const Config& config, const Router& router) : config_(config), router_(router) {
    for (const auto& name : router_.metric_names())
        on_loop_.push_back(name == "unmatched" || runs_on_loop(name));
}

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
    // Nothing may escape a handler: that would terminate the process.
    static const std::string internal = Error(ErrorCode::kInternal, "internal error").body();
    return Response::raw_json(internal, 500);
}

/* ---- one request, in its steps ------------------------------------------- */

// After libfcgi read the params: the request id (the client's when sane,
// else nginx's $request_id, else a new one), the decoded URL, the route.
// The body is read later, once the route's size limit is known.
void Server::begin(Pending& p) const {
    p.t0 = Clock::now();
    FCGX_Request& fr = p.conn->fr;
    Request& req = p.req;
    req.env = fr.envp;
    req.method = param(fr.envp, "REQUEST_METHOD");
    std::string_view uri = param(fr.envp, "REQUEST_URI");
    auto qpos = uri.find('?');
    std::string_view raw_path = uri.substr(0, qpos);
    std::string_view raw_query =
        qpos == std::string_view::npos ? std::string_view{} : uri.substr(qpos + 1);
    req.content_type = param(fr.envp, "CONTENT_TYPE");
    req.client_ip = param(fr.envp, "REMOTE_ADDR");
    std::string_view rid = param(fr.envp, "HTTP_X_REQUEST_ID");
    if (!sane_request_id(rid)) rid = param(fr.envp, "NGINX_REQUEST_ID");
    req.request_id = sane_request_id(rid) ? std::string(rid) : random_hex(16);
    p.length = std::atoll(param(fr.envp, "CONTENT_LENGTH"));
    auto path = percent_decode(raw_path, false);
    auto query = parse_query(raw_query);
    if (!path || !query) {
        p.early = error_response(Error(ErrorCode::kValidationFailed,
                                       "the URL has a malformed percent-escape or an escaped NUL"));
        return;
    }
    req.path = std::move(*path);
    req.query = std::move(*query);
    p.match = router_.match(req.method, req.path, req.path_params);
    if (p.match.route) p.route_index = p.match.route->index;
}

// The body limit (413, the body drained so the kept connection stays
// usable), the body, the handler, the response, libfcgi's finish, then the
// metrics and the log line. A body that cannot be read whole (the peer went
// away, the read deadline passed) marks the connection broken: no answer.
void Server::finish(Pending& p, Backends& backends) const {
    Conn& c = *p.conn;
    FCGX_Request& fr = c.fr;
    log::set_request_id(p.req.request_id);
    Response resp;
    if (p.early) {
        resp = std::move(*p.early);
    } else {
        const Route* r = p.match.route;
        std::size_t limit =
            r && r->options.max_body ? r->options.max_body : config_.json_body_limit;
        if (p.length > static_cast<long long>(limit)) {
            resp =
                error_response(Error(ErrorCode::kPayloadTooLarge,
                                     "request body exceeds " + std::to_string(limit) + " bytes"));
        } else {
            if (p.length > 0) {
                p.req.body.resize(static_cast<std::size_t>(p.length));
                int got = FCGX_GetStr(p.req.body.data(), static_cast<int>(p.length), fr.in);
                if (got != p.length) c.broken = true;
            }
            if (!c.broken) resp = dispatch(p.match, p.req, backends);
        }
    }
    if (!c.broken && !drain(fr.in)) c.broken = true;
    if (!c.broken) {
        try {
            write_response(fr, p.req, resp);
        } catch (const std::exception& e) {
            log::error("cannot write response", {{"error", e.what()}});
        }
    }
    fr.keepConnection = 1;  // the front closes connections, not libfcgi (server.hpp)
    fr.detached = 1;
    FCGX_Finish_r(&fr);
    if (fr.ipcFd < 0) {  // a write failed: libfcgi closed the fd
        c.lib_closed = true;
        c.broken = true;
    }
    if (c.broken) {
        log::warn("request not answered: the connection failed mid-request",
                  {{"method", p.req.method}, {"path", p.req.path}});
        resp.status = 499;  // nginx's "client closed" for the metrics; nothing was sent
    }
    account(p.req, resp, p.route_index, std::chrono::duration<double>(Clock::now() - p.t0).count());
    log::set_request_id({});
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

/* ---- connections on a loop ------------------------------------------------- */

// Serves every whole request the connection has waiting, on this loop or by
// handing the connection to the pool. Returns when the rest of a request has
// not arrived yet (the next edge brings it), or the connection was closed.
void Server::serve_ready(Loop& loop, Conn& c, bool hangup) {
    using Status = fcgi::RequestScan::Status;
    for (;;) {
        if (c.busy) return;
        ssize_t n = ::recv(c.fd, loop.peek.data(), loop.peek.size(), MSG_PEEK | MSG_DONTWAIT);
        if (n == 0) return close_conn(loop, c);  // nginx closed it
        if (n < 0) {
            if (errno == EINTR) continue;
            // Idle. While draining, an idle kept connection is closed: nginx
            // sends its next request to another process.
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && !stopping_.load() && !hangup) return;
            return close_conn(loop, c);
        }
        auto scan = fcgi::scan_request({loop.peek.data(), static_cast<std::size_t>(n)});
        if (scan.status == Status::kInvalid) {
            log::warn("FastCGI protocol error, connection closed", {{"error", scan.why}});
            return close_conn(loop, c);
        }
        const bool window_full = static_cast<std::size_t>(n) == loop.peek.size();
        if (scan.status == Status::kNeedMore ||
            (scan.status == Status::kParamsComplete && !window_full)) {
            // Half a request: wait for the rest without holding anything,
            // unless the peer is gone or the params alone overflow the window.
            if (hangup || window_full) close_conn(loop, c);
            return;
        }
        // A whole request, or one larger than the window whose params are
        // all there: libfcgi's reads of the params find their bytes.
        c.fr.ipcFd = c.fd;
        c.fr.keepConnection = 1;
        c.fr.detached = 1;
        if (FCGX_Accept_r(&c.fr) < 0) {
            c.lib_closed = c.fr.ipcFd < 0;
            log::warn("FastCGI request refused by libfcgi, connection closed");
            return close_conn(loop, c);
        }
        c.keep = c.fr.keepConnection != 0;
        c.fr.keepConnection = 1;
        in_flight_.fetch_add(1);
        Pending p;
        p.conn = &c;
        begin(p);
        if (scan.status != Status::kComplete || !on_loop_[p.route_index]) {
            c.busy = true;
            {
                std::lock_guard lock(pool_->mu);
                pool_->queue.push_back(std::move(p));
            }
            pool_->cv.notify_one();
            return;
        }
        finish(p, *loop.backends);
        in_flight_.fetch_sub(1);
        if (c.broken || !c.keep || stopping_.load()) return close_conn(loop, c);
    }
}

void Server::close_conn(Loop& loop, Conn& c) {
    // libfcgi may have closed the fd already, and its number may belong to a
    // new connection by now: then neither epoll nor close may touch it.
    if (!c.lib_closed) {
        epoll_ctl(loop.epfd, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
    }
    loop.conns.erase(&c);
    conns_.fetch_sub(1);
    delete &c;
}

void Server::adopt(Conn* c) {
    Loop& loop = *c->loop;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = c;
    if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        log::error("epoll_ctl ADD failed", {{"error", std::strerror(errno)}});
        ::close(c->fd);
        conns_.fetch_sub(1);
        delete c;
        return;
    }
    loop.conns.insert(c);
    serve_ready(loop, *c, false);
}

// Called by a pool thread when its request is answered.
void Server::give_back(Conn& c) {
    Loop& loop = *c.loop;
    {
        std::lock_guard lock(loop.mu);
        loop.returned.push_back(&c);
    }
    wake(loop.wake_fd);
}

// Accepts what the backlog holds and deals the connections out round-robin,
// so that nginx's kept connections spread over the loops.
void Server::accept_ready(Loop& loop) {
    for (int i = 0; i < 64; ++i) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EBADF && errno != EINVAL)
                log::warn("accept failed", {{"error", std::strerror(errno)}});
            return;
        }
        set_io_deadline(fd, config_.fcgi_io_timeout_ms);
        if (tcp_) {  // a response is several writes: never wait for an ACK between them
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        auto* c = new Conn;
        c->fd = fd;
        FCGX_InitRequest(&c->fr, -1, 0);  // listen_sock -1: libfcgi can never accept
        c->loop = loops_[next_loop_.fetch_add(1) % loops_.size()];
        conns_.fetch_add(1);
        if (c->loop == &loop) {
            adopt(c);
        } else {
            {
                std::lock_guard lock(c->loop->mu);
                c->loop->adopted.push_back(c);
            }
            wake(c->loop->wake_fd);
        }
    }
}

void Server::loop_main(Loop& loop) {
    Backends backends(config_);
    loop.backends = &backends;
    epoll_event events[kMaxEvents];
    bool swept = false;
    for (;;) {
        int n = epoll_wait(loop.epfd, events, kMaxEvents, stopping_.load() ? 50 : -1);
        if (n < 0 && errno != EINTR) {
            log::error("epoll_wait failed", {{"error", std::strerror(errno)}});
            break;
        }
        bool woken = false;
        for (int i = 0; i < n; ++i) {
            void* tag = events[i].data.ptr;
            if (tag == kListenTag) {
                accept_ready(loop);
            } else if (tag == kWakeTag) {
                std::uint64_t v;
                [[maybe_unused]] auto r = ::read(loop.wake_fd, &v, sizeof v);
                woken = true;
            } else {
                auto* c = static_cast<Conn*>(tag);
                bool hangup = (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
                if (!c->busy) serve_ready(loop, *c, hangup);
            }
        }
        if (woken || stopping_.load()) {
            std::vector<Conn*> adopted, returned;
            {
                std::lock_guard lock(loop.mu);
                adopted.swap(loop.adopted);
                returned.swap(loop.returned);
            }
            for (Conn* c : adopted) adopt(c);
            for (Conn* c : returned) {
                c->busy = false;
                if (c->broken || !c->keep || stopping_.load())
                    close_conn(loop, *c);
                else
                    serve_ready(loop, *c, false);
            }
        }
        if (stopping_.load()) {
            if (!swept) {  // once: close the idle ones, answer what is there
                swept = true;
                std::vector<Conn*> all(loop.conns.begin(), loop.conns.end());
                for (Conn* c : all)
                    if (!c->busy) serve_ready(loop, *c, false);
            }
            if (loop.conns.empty()) break;
        }
    }
    loop.done.store(true);
}

void Server::pool_main() {
    Backends backends(config_);
    for (;;) {
        Pending p;
        {
            std::unique_lock lock(pool_->mu);
            pool_->cv.wait(lock, [&] { return pool_->stop || !pool_->queue.empty(); });
            if (pool_->queue.empty()) return;
            p = std::move(pool_->queue.front());
            pool_->queue.pop_front();
        }
        Conn& c = *p.conn;
        finish(p, backends);
        in_flight_.fetch_sub(1);
        give_back(c);
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

    // FCGI_SOCKET is a unix socket path, or "host:port" / ":port" for TCP
    // (libfcgi's rule: a colon means TCP), as when nginx runs on another host.
    tcp_ = config_.fcgi_socket.find(':') != std::string::npos;
    if (!tcp_) unlink(config_.fcgi_socket.c_str());
    listen_fd_ = FCGX_OpenSocket(config_.fcgi_socket.c_str(), 4096);
    if (listen_fd_ < 0) {
        log::error("cannot open FastCGI socket", {{"socket", config_.fcgi_socket}});
        return 1;
    }
    fcntl(listen_fd_, F_SETFL, fcntl(listen_fd_, F_GETFL) | O_NONBLOCK);
    fcntl(listen_fd_, F_SETFD, FD_CLOEXEC);
    // nginx workers may run as another user.
    if (!tcp_) chmod(config_.fcgi_socket.c_str(), 0666);

    int loops = config_.fcgi_loops > 0
                    ? config_.fcgi_loops
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    pool_ = new Pool;
    for (int i = 0; i < loops; ++i) {
        auto* loop = new Loop;
        loop->epfd = epoll_create1(EPOLL_CLOEXEC);
        loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (loop->epfd < 0 || loop->wake_fd < 0) {
            log::error("cannot create an event loop", {{"error", std::strerror(errno)}});
            return 1;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLEXCLUSIVE;
        ev.data.ptr = kListenTag;
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, listen_fd_, &ev);
        ev.events = EPOLLIN;
        ev.data.ptr = kWakeTag;
        epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev);
        loops_.push_back(loop);
    }
    for (Loop* loop : loops_) loop->thread = std::thread([this, loop] { loop_main(*loop); });
    for (int i = 0; i < config_.fcgi_threads; ++i)
        pool_->threads.emplace_back([this] { pool_main(); });
    log::info("bazaar-fcgi ready", {{"socket", config_.fcgi_socket},
                                    {"loops", loops},
                                    {"pool_threads", config_.fcgi_threads}});

    int sig = 0;
    sigwait(&set, &sig);
    log::info("shutting down", {{"signal", sig}, {"connections", conns_.load()}});
    for (Loop* loop : loops_) epoll_ctl(loop->epfd, EPOLL_CTL_DEL, listen_fd_, nullptr);
    stopping_.store(true);
    close(listen_fd_);
    if (!tcp_) unlink(config_.fcgi_socket.c_str());
    for (Loop* loop : loops_) wake(loop->wake_fd);
    // Every request begun is answered; kept connections close when idle.
    // A connection still holding half a request at the deadline is dropped.
    auto deadline = Clock::now() + std::chrono::milliseconds(grace_ms);
    auto all_done = [&] {
        for (Loop* loop : loops_)
            if (!loop->done.load()) return false;
        return in_flight_.load() == 0;
    };
    while (!all_done() && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log::info("bazaar-fcgi stopped",
              {{"in_flight", in_flight_.load()}, {"connections", conns_.load()}});
    // Threads may still sit in a handler or a read past the deadline; leave
    // without joining them (their Backends need no orderly close).
    std::_Exit(0);
}

}  // namespace bazaar::http

// The relay of latency_proxy.hpp (design and invariants are described there).
#include "latency_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace latency_proxy {

namespace {

constexpr std::size_t kReadSize = 64 * 1024;
// Per direction: stop reading the source beyond this much undelivered data.
constexpr std::size_t kMaxBufferedBytes = 4 * 1024 * 1024;
// Per read event: bytes taken before other sockets get their turn.
constexpr std::size_t kReadBudget = 256 * 1024;
constexpr int kMaxEvents = 256;

// epoll tags: kind in the low 2 bits, an index or a pair id above.
constexpr std::uint64_t kKindListen = 0, kKindA = 1, kKindB = 2, kKindControl = 3;
constexpr std::uint64_t tag(std::uint64_t value, std::uint64_t kind) {
    return value << 2 | kind;
}
constexpr std::uint64_t kTimerTag = tag(0, kKindControl), kStopTag = tag(1, kKindControl);

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

bool to_sockaddr(const Endpoint& e, sockaddr_in& out) {
    std::memset(&out, 0, sizeof out);
    out.sin_family = AF_INET;
    out.sin_port = htons(static_cast<std::uint16_t>(e.port));
    return inet_pton(AF_INET, e.host.c_str(), &out.sin_addr) == 1;
}

timespec to_timespec(Clock::time_point t) {
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    if (ns <= 0) ns = 1;  // 0 would disarm the timer
    return {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
}

}  // namespace

/* ---- parsing ---- */

std::optional<Endpoint> parse_endpoint(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    Endpoint e;
    e.host = text.substr(0, colon);
    const char* first = text.data() + colon + 1;
    const char* last = text.data() + text.size();
    auto [p, ec] = std::from_chars(first, last, e.port);
    if (ec != std::errc() || p != last || first == last || e.port < 1 || e.port > 65535)
        return std::nullopt;
    in_addr addr{};
    if (inet_pton(AF_INET, e.host.c_str(), &addr) != 1) return std::nullopt;
    return e;
}

std::optional<Route> parse_route(const std::string& text) {
    auto eq = text.find('=');
    if (eq == std::string::npos) return std::nullopt;
    auto listen = parse_endpoint(text.substr(0, eq));
    auto target = parse_endpoint(text.substr(eq + 1));
    if (!listen || !target) return std::nullopt;
    return Route{*listen, *target};
}

/* ---- connection pairs ---- */

struct Proxy::Direction {
    struct Chunk {
        Clock::time_point due;
        std::string data;  // empty: the end of the stream
        std::size_t offset = 0;
    };
    std::deque<Chunk> queue;
    std::size_t buffered = 0;
    bool eof_read = false;  // the source ended (its end is queued)
    bool eof_sent = false;  // ... and was passed on (shutdown of the destination)
    bool blocked = false;   // a due chunk waits for the destination to drain
};

struct Proxy::Pair {
    std::uint64_t id = 0;
    int a = -1;  // the accepted client
    int b = -1;  // the connection to the target
    bool connected = false;
    Direction up;    // a -> b
    Direction down;  // b -> a
    std::uint32_t events_a = 0, events_b = 0;
    bool a_gone = false, b_gone = false;  // out of the epoll set (hung up)
    bool lingering = false;
    Clock::time_point linger_until{};
};

Proxy::Proxy(Options opts) : opts_(std::move(opts)) {}

Proxy::~Proxy() {
    std::vector<std::uint64_t> ids;
    for (auto& [id, p] : pairs_) ids.push_back(id);
    for (auto id : ids) close_pair(id);
    for (int fd : listen_fds_) ::close(fd);
    for (int fd : {epfd_, timerfd_, stopfd_})
        if (fd >= 0) ::close(fd);
}

bool Proxy::open() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    stopfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epfd_ < 0 || timerfd_ < 0 || stopfd_ < 0) {
        error_ = std::string("epoll/timerfd/eventfd: ") + std::strerror(errno);
        return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimerTag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, timerfd_, &ev);
    ev.data.u64 = kStopTag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, stopfd_, &ev);
    for (std::size_t i = 0; i < opts_.routes.size(); ++i) {
        const Route& r = opts_.routes[i];
        sockaddr_in addr{};
        sockaddr_in probe{};
        if (!to_sockaddr(r.listen, addr) || !to_sockaddr(r.target, probe)) {
            error_ = "route " + std::to_string(i) + ": not an IPv4 address";
            return false;
        }
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            listen(fd, 4096) != 0) {
            error_ = "listen on " + r.listen.host + ":" + std::to_string(r.listen.port) + ": " +
                     std::strerror(errno);
            if (fd >= 0) ::close(fd);
            return false;
        }
        listen_fds_.push_back(fd);
        ev.events = EPOLLIN;
        ev.data.u64 = tag(i, kKindListen);
        epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    }
    return true;
}

int Proxy::bound_port(std::size_t route) const {
    if (route >= listen_fds_.size()) return 0;
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (getsockname(listen_fds_[route], reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
    return ntohs(addr.sin_port);
}

void Proxy::stop() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stopfd_, &one, sizeof one);  // async-signal-safe
}

Stats Proxy::stats() const {
    return stats_;
}

void Proxy::accept_ready(std::size_t route) {
    for (int i = 0; i < 64; ++i) {
        int a = accept4(listen_fds_[route], nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (a < 0) return;  // EAGAIN, or out of fds: the backlog waits
        sockaddr_in target{};
        to_sockaddr(opts_.routes[route].target, target);
        int b = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (b < 0 || (connect(b, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0 &&
                      errno != EINPROGRESS)) {
            if (b >= 0) ::close(b);
            ::close(a);
            continue;
        }
        set_nodelay(a);
        set_nodelay(b);
        auto pair = std::make_unique<Pair>();
        pair->id = next_id_++;
        pair->a = a;
        pair->b = b;
        epoll_event ev{};
        ev.data.u64 = tag(pair->id, kKindA);
        epoll_ctl(epfd_, EPOLL_CTL_ADD, a, &ev);
        ev.data.u64 = tag(pair->id, kKindB);
        epoll_ctl(epfd_, EPOLL_CTL_ADD, b, &ev);
        Pair& p = *pair;
        pairs_.emplace(p.id, std::move(pair));
        ++stats_.accepted;
        update_interest(p);
    }
}

// Reads what the source has (up to the budget) into chunks due after the
// delay. False if the source failed (the pair must close).
bool Proxy::read_into(Pair& p, Direction& d, Clock::time_point now) {
    int src = &d == &p.up ? p.a : p.b;
    auto due = now + opts_.delay;
    bool queued = false;
    std::size_t taken = 0;
    while (!d.eof_read && d.buffered < kMaxBufferedBytes && taken < kReadBudget) {
        std::string buf(kReadSize, '\0');
        ssize_t n = ::read(src, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return false;
        }
        if (n == 0) {
            d.eof_read = true;
            d.queue.push_back({due, {}, 0});
            queued = true;
            break;
        }
        buf.resize(static_cast<std::size_t>(n));
        taken += buf.size();
        d.buffered += buf.size();
        // Coalesce with the previous chunk when it falls due at the same time.
        if (!d.queue.empty() && d.queue.back().due == due && !d.queue.back().data.empty())
            d.queue.back().data += buf;
        else
            d.queue.push_back({due, std::move(buf), 0});
        queued = true;
    }
    if (queued) {
        bool was_empty = timers_.empty();
        if (timers_.empty() || timers_.back().due != due || timers_.back().pair != p.id)
            timers_.push_back({due, p.id});
        if (was_empty) arm_timer();
    }
    return true;
}

// Writes the due chunks of one direction, in order. False if the
// destination failed.
bool Proxy::flush(Pair& p, Direction& d, Clock::time_point now) {
    d.blocked = false;
    if (!p.connected) return true;
    int dst = &d == &p.up ? p.b : p.a;
    while (!d.queue.empty() && d.queue.front().due <= now) {
        auto& c = d.queue.front();
        if (c.data.empty()) {
            ::shutdown(dst, SHUT_WR);
            d.eof_sent = true;
            d.queue.pop_front();
            break;
        }
        ssize_t n = ::send(dst, c.data.data() + c.offset, c.data.size() - c.offset, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                d.blocked = true;
                return true;
            }
            return false;
        }
        c.offset += static_cast<std::size_t>(n);
        stats_.bytes += static_cast<std::uint64_t>(n);
        if (c.offset == c.data.size()) {
            d.buffered -= c.data.size();
            d.queue.pop_front();
        }
    }
    return true;
}

void Proxy::update_interest(Pair& p) {
    std::uint32_t ea = 0, eb = 0;
    if (!p.up.eof_read && p.up.buffered < kMaxBufferedBytes) ea |= EPOLLIN;
    if (p.down.blocked) ea |= EPOLLOUT;
    if (!p.connected) {
        eb = EPOLLOUT;  // the connect's completion
    } else {
        if (!p.down.eof_read && p.down.buffered < kMaxBufferedBytes) eb |= EPOLLIN;
        if (p.up.blocked) eb |= EPOLLOUT;
    }
    epoll_event ev{};
    if (ea != p.events_a && !p.a_gone) {
        ev.events = ea;
        ev.data.u64 = tag(p.id, kKindA);
        epoll_ctl(epfd_, EPOLL_CTL_MOD, p.a, &ev);
        p.events_a = ea;
    }
    if (eb != p.events_b && !p.b_gone) {
        ev.events = eb;
        ev.data.u64 = tag(p.id, kKindB);
        epoll_ctl(epfd_, EPOLL_CTL_MOD, p.b, &ev);
        p.events_b = eb;
    }
}

void Proxy::close_pair(std::uint64_t id) {
    auto it = pairs_.find(id);
    if (it == pairs_.end()) return;
    Pair& p = *it->second;
    ::close(p.a);  // closing removes them from the epoll set
    ::close(p.b);
    ++stats_.closed;
    pairs_.erase(it);
}

void Proxy::on_event(std::uint64_t id, bool side_b, std::uint32_t events) {
    auto it = pairs_.find(id);
    if (it == pairs_.end()) return;  // closed earlier in this round
    Pair& p = *it->second;
    auto now = Clock::now();
    if (side_b && !p.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(p.b, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) return close_pair(id);
        if (!(events & EPOLLOUT)) return;
        p.connected = true;
        p.lingering = false;
        events &= ~static_cast<std::uint32_t>(EPOLLOUT);
        if (!flush(p, p.up, now)) return close_pair(id);
    }
    if (events & EPOLLERR) return close_pair(id);
    Direction& in = side_b ? p.down : p.up;   // read from this side
    Direction& out = side_b ? p.up : p.down;  // written to this side
    if (events & (EPOLLIN | EPOLLHUP)) {
        if (!read_into(p, in, now) || !flush(p, in, now)) return close_pair(id);
    }
    if (events & EPOLLOUT) {
        if (!flush(p, out, now)) return close_pair(id);
    }
    // The client ended before the target answered: its bytes wait for the
    // connection, but not longer than the linger time (a target behind a
    // partition never answers the SYN).
    if (!p.connected && p.up.eof_read && !p.lingering) {
        p.lingering = true;
        p.linger_until = now + opts_.linger;
    }
    if (p.up.eof_sent && p.down.eof_sent) return close_pair(id);
    if (events & EPOLLHUP) {
        // Both ways closed on this side. HUP cannot be masked: leave the set
        // while the other direction's last bytes wait for their due time.
        if (!(in.eof_read && out.eof_sent)) return close_pair(id);
        epoll_ctl(epfd_, EPOLL_CTL_DEL, side_b ? p.b : p.a, nullptr);
        (side_b ? p.b_gone : p.a_gone) = true;
    }
    if ((p.up.eof_sent || p.down.eof_sent) && !p.lingering) {
        p.lingering = true;
        p.linger_until = now + opts_.linger;
    }
    update_interest(p);
}

void Proxy::arm_timer() {
    itimerspec spec{};
    if (!timers_.empty()) spec.it_value = to_timespec(timers_.front().due);
    timerfd_settime(timerfd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Proxy::fire_timers() {
    std::uint64_t expirations;
    [[maybe_unused]] auto n = ::read(timerfd_, &expirations, sizeof expirations);
    auto now = Clock::now();
    while (!timers_.empty() && timers_.front().due <= now) {
        auto id = timers_.front().pair;
        timers_.pop_front();
        auto it = pairs_.find(id);
        if (it == pairs_.end()) continue;
        Pair& p = *it->second;
        if (!flush(p, p.up, now) || !flush(p, p.down, now)) {
            close_pair(id);
            continue;
        }
        if (p.up.eof_sent && p.down.eof_sent) {
            close_pair(id);
            continue;
        }
        if ((p.up.eof_sent || p.down.eof_sent) && !p.lingering) {
            p.lingering = true;
            p.linger_until = now + opts_.linger;
        }
        update_interest(p);
    }
    arm_timer();
}

int Proxy::run() {
    epoll_event events[kMaxEvents];
    auto next_sweep = Clock::now() + std::chrono::seconds(1);
    for (;;) {
        int n = epoll_wait(epfd_, events, kMaxEvents, 1000);
        if (n < 0) {
            if (errno == EINTR) continue;
            error_ = std::string("epoll_wait: ") + std::strerror(errno);
            return 1;
        }
        for (int i = 0; i < n; ++i) {
            std::uint64_t t = events[i].data.u64;
            std::uint64_t kind = t & 3, value = t >> 2;
            if (t == kStopTag) return 0;
            if (t == kTimerTag) {
                fire_timers();
            } else if (kind == kKindListen) {
                accept_ready(static_cast<std::size_t>(value));
            } else {
                on_event(value, kind == kKindB, events[i].events);
            }
        }
        auto now = Clock::now();
        if (now >= next_sweep) {  // pairs whose other side never ended
            next_sweep = now + std::chrono::seconds(1);
            std::vector<std::uint64_t> expired;
            for (auto& [id, p] : pairs_)
                if (p->lingering && p->linger_until <= now) expired.push_back(id);
            for (auto id : expired) close_pair(id);
        }
    }
}

}  // namespace latency_proxy

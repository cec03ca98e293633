// latency_proxy: a TCP relay that delays every byte by a fixed one-way time
// in each direction. A test tool for scripts/netns (docs/several-hosts.md):
// this kernel has network namespaces and veth pairs but no netem, so the
// latency between simulated hosts comes from a relay on each link.
//
// Design. One thread, one epoll set (level-triggered), one timerfd. Each
// accepted connection is paired with a non-blocking connection to the
// route's target; each of the pair's two directions holds a FIFO of chunks
// stamped with the time they were read plus the delay. A chunk is written
// only once it is due, and a direction writes its chunks strictly in order,
// so the byte stream is preserved exactly; what a destination cannot take
// waits for EPOLLOUT. Because the delay is constant and the clock monotonic,
// due times are issued in increasing order across the whole proxy: one
// global FIFO of (due time, pair) wake-ups is the timer queue, and the
// timerfd is armed for its head. A direction with more than
// kMaxBufferedBytes waiting stops reading its source (backpressure) until it
// drains. An end of stream is delayed like data (FIN after the bytes before
// it); an error on either side closes both at once. After one side's end
// has been delivered, the pair is closed when the other side ends too, or
// after a linger time (a peer behind a partition never answers the FIN).
//
// It must never: reorder or drop bytes of an open connection, deliver a
// byte before its due time, block (every socket is non-blocking), or throw
// out of run() (errors are return codes; std::bad_alloc aborts).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace latency_proxy {

using Clock = std::chrono::steady_clock;

struct Endpoint {
    std::string host;  // numeric IPv4 address
    int port = 0;
};

// "LISTEN_HOST:PORT=TARGET_HOST:PORT" (hosts numeric IPv4).
struct Route {
    Endpoint listen;
    Endpoint target;
};

// Parses "host:port"; nullopt if malformed (port 1..65535, host a dotted quad).
std::optional<Endpoint> parse_endpoint(const std::string& text);
// Parses "listen=target"; nullopt if malformed.
std::optional<Route> parse_route(const std::string& text);

struct Options {
    std::chrono::microseconds delay{1000};  // one way, each direction
    std::chrono::milliseconds linger{10000};
    std::vector<Route> routes;
};

struct Stats {
    std::uint64_t accepted = 0;
    std::uint64_t closed = 0;
    std::uint64_t bytes = 0;  // relayed, both directions
};

class Proxy {
  public:
    explicit Proxy(Options opts);
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Opens the listening sockets; false (and error() says why) on failure.
    bool open();
    // The port a route listens on (useful with port 0 in tests).
    int bound_port(std::size_t route) const;
    // Runs until stop() is called (from any thread or a signal handler).
    // Returns 0, or 1 on a fatal epoll error.
    int run();
    void stop();
    const std::string& error() const { return error_; }
    Stats stats() const;

  private:
    struct Pair;
    struct Direction;
    void accept_ready(std::size_t route);
    void on_event(std::uint64_t id, bool side_b, std::uint32_t events);
    bool read_into(Pair& p, Direction& d, Clock::time_point now);
    bool flush(Pair& p, Direction& d, Clock::time_point now);
    void update_interest(Pair& p);
    void fire_timers();
    void arm_timer();
    void close_pair(std::uint64_t id);

    Options opts_;
    int epfd_ = -1;
    int timerfd_ = -1;
    int stopfd_ = -1;
    std::vector<int> listen_fds_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Pair>> pairs_;
    std::uint64_t next_id_ = 1;
    struct Wakeup {
        Clock::time_point due;
        std::uint64_t pair;  // may be closed by then: looked up, skipped if gone
    };
    std::deque<Wakeup> timers_;
    std::string error_;
    Stats stats_;
};

}  // namespace latency_proxy

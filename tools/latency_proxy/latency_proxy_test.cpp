// latency_proxy against a real echo server on loopback: bytes arrive intact
// and in order, never before their delay, over many connections at once, and
// ends of stream and refused targets are passed on.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "latency_proxy.hpp"

using namespace std::chrono_literals;
using latency_proxy::Clock;

namespace {

int listen_loopback(int& port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1024) != 0)
        return -1;
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    return fd;
}

int connect_loopback(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{20, 0};  // a broken relay fails the test instead of hanging it
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool send_all(int fd, const std::string& data) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return false;
        off += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads exactly n bytes (fewer if the stream ends or times out).
std::string recv_n(int fd, std::size_t n) {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
        ssize_t r = recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
        if (r <= 0) break;
        out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
}

// Echoes every connection until its end of stream, then closes it.
class EchoServer {
  public:
    EchoServer() {
        fd_ = listen_loopback(port_);
        thread_ = std::thread([this] {
            for (;;) {
                int c = accept(fd_, nullptr, nullptr);
                if (c < 0) return;
                conns_.emplace_back([c] {
                    char buf[65536];
                    for (;;) {
                        ssize_t n = recv(c, buf, sizeof buf, 0);
                        if (n <= 0) break;
                        if (!send_all(c, std::string(buf, static_cast<std::size_t>(n)))) break;
                    }
                    close(c);
                });
            }
        });
    }
    ~EchoServer() {
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        thread_.join();
        for (auto& t : conns_) t.join();
    }
    int port() const { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
    std::thread thread_;
    std::vector<std::thread> conns_;
};

class RunningProxy {
  public:
    RunningProxy(int target_port, std::chrono::microseconds delay)
        : proxy_(make_options(target_port, delay)) {
        EXPECT_TRUE(proxy_.open()) << proxy_.error();
        thread_ = std::thread([this] { rc_ = proxy_.run(); });
    }
    ~RunningProxy() {
        proxy_.stop();
        thread_.join();
        EXPECT_EQ(rc_, 0);
    }
    int port() const { return proxy_.bound_port(0); }

  private:
    static latency_proxy::Options make_options(int target_port, std::chrono::microseconds delay) {
        latency_proxy::Options o;
        o.delay = delay;
        o.routes.push_back({{"127.0.0.1", 0}, {"127.0.0.1", target_port}});
        return o;
    }
    latency_proxy::Proxy proxy_;
    std::thread thread_;
    int rc_ = -1;
};

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng());
    return s;
}

}  // namespace

TEST(LatencyProxyParse, Routes) {
    auto r = latency_proxy::parse_route("10.213.0.11:6379=10.213.0.30:16379");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->listen.host, "10.213.0.11");
    EXPECT_EQ(r->listen.port, 6379);
    EXPECT_EQ(r->target.host, "10.213.0.30");
    EXPECT_EQ(r->target.port, 16379);
    EXPECT_FALSE(latency_proxy::parse_route("10.213.0.11:6379"));
    EXPECT_FALSE(latency_proxy::parse_route("10.213.0.11:0=10.0.0.1:1"));
    EXPECT_FALSE(latency_proxy::parse_route("10.213.0.11:70000=10.0.0.1:1"));
    EXPECT_FALSE(latency_proxy::parse_route("redis:6379=10.0.0.1:1"));
    EXPECT_FALSE(latency_proxy::parse_route("10.213.0.11:63x9=10.0.0.1:1"));
    EXPECT_FALSE(latency_proxy::parse_route(":1=10.0.0.1:1"));
}

// Each direction waits its delay: a round trip takes at least twice it.
TEST(LatencyProxy, DelaysEachDirection) {
    EchoServer echo;
    RunningProxy proxy(echo.port(), 40ms);
    int fd = connect_loopback(proxy.port());
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 3; ++i) {
        auto start = Clock::now();
        ASSERT_TRUE(send_all(fd, "ping"));
        EXPECT_EQ(recv_n(fd, 4), "ping");
        EXPECT_GE(Clock::now() - start, 80ms);
    }
    close(fd);
}

TEST(LatencyProxy, ZeroDelayRelays) {
    EchoServer echo;
    RunningProxy proxy(echo.port(), 0us);
    int fd = connect_loopback(proxy.port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "hello"));
    EXPECT_EQ(recv_n(fd, 5), "hello");
    close(fd);
}

// 8 MiB each way while both directions are full: backpressure, no loss, no
// reordering.
TEST(LatencyProxy, LargeStreamStaysInOrder) {
    EchoServer echo;
    RunningProxy proxy(echo.port(), 1ms);
    int fd = connect_loopback(proxy.port());
    ASSERT_GE(fd, 0);
    std::string data = random_bytes(8 << 20, 7);
    std::thread writer([&] { EXPECT_TRUE(send_all(fd, data)); });
    std::string back = recv_n(fd, data.size());
    writer.join();
    ASSERT_EQ(back.size(), data.size());
    EXPECT_TRUE(back == data);
    close(fd);
}

TEST(LatencyProxy, ManyConnectionsAtOnce) {
    EchoServer echo;
    RunningProxy proxy(echo.port(), 2ms);
    constexpr int kConns = 200;
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < kConns; ++i) {
        clients.emplace_back([&, i] {
            int fd = connect_loopback(proxy.port());
            if (fd < 0) return;
            std::string data = random_bytes(64 * 1024 + static_cast<std::size_t>(i), i);
            // In pieces, each answered before the next: many delayed chunks.
            bool good = true;
            for (std::size_t off = 0; off < data.size() && good; off += 16384) {
                std::string piece = data.substr(off, 16384);
                good = send_all(fd, piece) && recv_n(fd, piece.size()) == piece;
            }
            close(fd);
            if (good) ok.fetch_add(1);
        });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(ok.load(), kConns);
}

// The client's end of stream reaches the target after the bytes before it;
// the target's close comes back as the client's end of stream.
TEST(LatencyProxy, EndOfStreamIsPassedOn) {
    EchoServer echo;
    RunningProxy proxy(echo.port(), 5ms);
    int fd = connect_loopback(proxy.port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(send_all(fd, "last words"));
    shutdown(fd, SHUT_WR);
    EXPECT_EQ(recv_n(fd, 100), "last words");  // stops at the end of stream
    char c;
    EXPECT_EQ(recv(fd, &c, 1, 0), 0);
    close(fd);
}

// Nobody listens at the target: the client's connection is closed, not held.
TEST(LatencyProxy, RefusedTargetClosesTheClient) {
    int port = 0;
    int gone = listen_loopback(port);
    close(gone);
    RunningProxy proxy(port, 1ms);
    int fd = connect_loopback(proxy.port());
    ASSERT_GE(fd, 0);
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << n << " " << std::strerror(errno);
    close(fd);
}

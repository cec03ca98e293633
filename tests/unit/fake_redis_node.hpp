// A tiny in-process Redis node for the cluster client's unit tests: a thread
// listening on a loopback TCP port, parsing RESP commands and answering what
// the test's handler returns (any RESP text: replies, MOVED/ASK errors,
// NOSCRIPT), or dropping the connection. Every command received is recorded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bazaar::testing {

// Like every bazaar process: a write to a connection a fake node closed must
// be an EPIPE error for the client, not a signal that ends the test binary.
inline const bool kFakeNodeSigpipeIgnored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

class FakeRedisNode {
  public:
    struct Conn {
        bool asking = false;  // ASKING was sent on this connection (one command)
    };
    // Returns the RESP text to answer, or kDrop to close the connection.
    using Handler = std::function<std::string(const std::vector<std::string>& cmd, Conn& conn)>;
    static inline const std::string kDrop = std::string("\x01drop");

    static std::string simple(const std::string& s) { return "+" + s + "\r\n"; }
    static std::string error(const std::string& s) { return "-" + s + "\r\n"; }
    static std::string integer(long long n) { return ":" + std::to_string(n) + "\r\n"; }
    static std::string bulk(const std::string& s) {
        return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
    }
    static std::string nil() { return "$-1\r\n"; }
    static std::string array(const std::vector<std::string>& encoded) {
        std::string out = "*" + std::to_string(encoded.size()) + "\r\n";
        for (const auto& e : encoded) out += e;
        return out;
    }

    explicit FakeRedisNode(Handler handler = {}) : handler_(std::move(handler)) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            listen(listen_fd_, 64) != 0)
            throw std::runtime_error("fake redis: cannot listen");
        socklen_t len = sizeof a;
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FakeRedisNode() { stop(); }
    FakeRedisNode(const FakeRedisNode&) = delete;
    FakeRedisNode& operator=(const FakeRedisNode&) = delete;

    int port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    void set_handler(Handler h) {
        std::lock_guard lock(mu_);
        handler_ = std::move(h);
    }
    std::vector<std::vector<std::string>> received() {
        std::lock_guard lock(mu_);
        return received_;
    }
    // How many commands named `name` (e.g. "GET", or "CLUSTER" for CLUSTER SLOTS) arrived.
    std::size_t count(const std::string& name) {
        std::lock_guard lock(mu_);
        std::size_t n = 0;
        for (const auto& c : received_)
            if (!c.empty() && c[0] == name) ++n;
        return n;
    }
    void clear_received() {
        std::lock_guard lock(mu_);
        received_.clear();
    }

    // Every client connection is closed by the node (its side of a restart
    // or CLIENT KILL); the node keeps listening.
    void close_clients() {
        std::lock_guard lock(mu_);
        for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
    }

    // The node dies: the listener and every connection close.
    void stop() {
        if (stopped_.exchange(true)) return;
        ::shutdown(listen_fd_, SHUT_RDWR);
        ::close(listen_fd_);
        acceptor_.join();
        {
            std::lock_guard lock(mu_);
            for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
        }
        for (auto& t : workers_) t.join();
    }

  private:
    void accept_loop() {
        for (;;) {
            pollfd p{listen_fd_, POLLIN, 0};
            int n = ::poll(&p, 1, 50);
            if (stopped_) return;
            if (n <= 0) continue;
            int fd = ::accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) {
                if (stopped_) return;
                continue;
            }
            std::lock_guard lock(mu_);
            clients_.push_back(fd);
            workers_.emplace_back([this, fd] { serve(fd); });
        }
    }

    // Parses one RESP array of bulk strings from `buf` at `pos`; false when
    // incomplete.
    static bool parse(const std::string& buf, std::size_t& pos, std::vector<std::string>& out) {
        auto line = [&](std::size_t& p, std::string& text) {
            auto e = buf.find("\r\n", p);
            if (e == std::string::npos) return false;
            text = buf.substr(p, e - p);
            p = e + 2;
            return true;
        };
        std::size_t p = pos;
        std::string head;
        if (!line(p, head) || head.empty() || head[0] != '*') return false;
        int n = std::stoi(head.substr(1));
        std::vector<std::string> parts;
        for (int i = 0; i < n; ++i) {
            std::string len_line;
            if (!line(p, len_line) || len_line.empty() || len_line[0] != '$') return false;
            auto len = static_cast<std::size_t>(std::stoul(len_line.substr(1)));
            if (buf.size() < p + len + 2) return false;
            parts.push_back(buf.substr(p, len));
            p += len + 2;
        }
        out = std::move(parts);
        pos = p;
        return true;
    }

    void serve(int fd) {
        Conn conn;
        std::string buf;
        char chunk[16384];
        for (;;) {
            ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
            if (got <= 0) break;
            buf.append(chunk, static_cast<std::size_t>(got));
            std::size_t pos = 0;
            std::vector<std::string> cmd;
            std::string out;
            bool drop = false;
            while (parse(buf, pos, cmd)) {
                std::string reply;
                {
                    std::lock_guard lock(mu_);
                    received_.push_back(cmd);
                }
                if (cmd[0] == "ASKING") {
                    conn.asking = true;
                    reply = simple("OK");
                } else {
                    Handler h;
                    {
                        std::lock_guard lock(mu_);
                        h = handler_;
                    }
                    reply = h ? h(cmd, conn) : error("ERR no handler");
                    conn.asking = false;
                }
                if (reply == kDrop) {
                    drop = true;
                    break;
                }
                out += reply;
            }
            buf.erase(0, pos);
            if (!out.empty() && ::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) break;
            if (drop) break;
        }
        {
            std::lock_guard lock(mu_);
            std::erase(clients_, fd);
        }
        ::close(fd);
    }

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stopped_{false};
    std::mutex mu_;
    std::vector<std::vector<std::string>> received_;
    std::vector<int> clients_;
    std::vector<std::thread> workers_;
    std::thread acceptor_;
};

}  // namespace bazaar::testing

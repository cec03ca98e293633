// Issue 18: Pg's failure policy against a fake Postgres that speaks just
// enough of the v3 protocol (trust startup, simple queries) to misbehave on
// cue: a COMMIT answered with a connection-class error must never run the
// transaction again (it may have committed), and one transact() call,
// retries included, takes at most its PG_TIMEOUT_MS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bazaar/error.hpp"
#include "bazaar/pg.hpp"

using namespace bazaar;

namespace {

class FakePostgres {
  public:
    std::atomic<bool> fail_commit{false};  // COMMIT → ERROR 08006, connection kept open
    // Other statements: 400 ms, then ERROR 40001 (serialization failure).
    std::atomic<bool> slow_conflicts{false};

    FakePostgres() {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0)
            throw std::runtime_error("fake postgres: cannot listen");
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~FakePostgres() {
        stop_ = true;
        acceptor_.join();
        {
            std::lock_guard lock(mu_);
            for (int c : clients_) ::shutdown(c, SHUT_RDWR);
        }
        for (auto& t : workers_) t.join();
        ::close(fd_);
    }
    std::string conninfo() const {
        return "host=127.0.0.1 port=" + std::to_string(port_) +
               " user=postgres dbname=fake sslmode=disable gssencmode=disable";
    }

  private:
    static void put32(std::string& out, std::uint32_t v) {
        v = htonl(v);
        out.append(reinterpret_cast<const char*>(&v), 4);
    }
    static std::string msg(char type, const std::string& body) {
        std::string out(1, type);
        put32(out, static_cast<std::uint32_t>(body.size() + 4));
        return out + body;
    }
    static std::string param(const char* k, const char* v) {
        return msg('S', std::string(k) + '\0' + v + '\0');
    }
    static std::string ready(char status) { return msg('Z', std::string(1, status)); }

    void accept_loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            std::lock_guard lock(mu_);
            clients_.push_back(c);
            workers_.emplace_back([this, c] { serve(c); });
        }
    }

    bool read_n(int c, std::string& buf, std::size_t n) {
        while (buf.size() < n) {
            char chunk[4096];
            ssize_t got = ::recv(c, chunk, sizeof chunk, 0);
            if (got <= 0) return false;
            buf.append(chunk, static_cast<std::size_t>(got));
        }
        return true;
    }
    static std::uint32_t get32(const std::string& b, std::size_t at) {
        std::uint32_t v;
        std::memcpy(&v, b.data() + at, 4);
        return ntohl(v);
    }
    void send_all(int c, const std::string& out) {
        ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    }

    void serve(int c) {
        std::string buf;
        // Startup: int32 length, int32 protocol, key/value pairs.
        if (!read_n(c, buf, 4) || !read_n(c, buf, get32(buf, 0))) return;
        buf.erase(0, get32(buf, 0));
        send_all(c, msg('R', std::string("\0\0\0\0", 4)) + param("server_version", "15.0") +
                        param("client_encoding", "UTF8") +
                        param("standard_conforming_strings", "on") +
                        param("integer_datetimes", "on") + param("DateStyle", "ISO, MDY") +
                        msg('K', std::string(8, '\1')) + ready('I'));
        for (;;) {
            if (!read_n(c, buf, 5)) return;
            char type = buf[0];
            std::size_t len = get32(buf, 1);
            if (!read_n(c, buf, 1 + len)) return;
            std::string body = buf.substr(5, len - 4);
            buf.erase(0, 1 + len);
            if (type == 'X') return;
            if (type != 'Q') continue;
            std::string q(body.c_str());
            if (q.rfind("BEGIN", 0) == 0) {
                send_all(c, msg('C', std::string("BEGIN") + '\0') + ready('T'));
            } else if (q.rfind("COMMIT", 0) == 0 && fail_commit) {
                send_all(c, msg('E', std::string("SERROR") + '\0' + "C08006" + '\0' +
                                         "Mconnection failure during commit" + '\0' + '\0') +
                                ready('I'));
            } else if (q.rfind("COMMIT", 0) == 0 || q.rfind("ROLLBACK", 0) == 0) {
                send_all(c, msg('C', q.substr(0, q.find(' ')) + '\0') + ready('I'));
            } else if (slow_conflicts) {
                std::this_thread::sleep_for(std::chrono::milliseconds(400));
                send_all(c, msg('E', std::string("SERROR") + '\0' + "C40001" + '\0' +
                                         "Mcould not serialize access" + '\0' + '\0') +
                                ready('E'));
            } else {
                send_all(c, msg('C', std::string("SET") + '\0') + ready('T'));
            }
        }
    }

    int fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<int> clients_;
    std::vector<std::thread> workers_;
    std::thread acceptor_;
};

}  // namespace

// The connection was kept from an earlier call, and COMMIT came back with a
// connection-class SQLSTATE: whether it committed is unknown, so the
// function must not run a second time (it used to: "lost connection on a
// kept connection" was re-run without looking at whether COMMIT was sent).
TEST(PgFailure, ACommitWhoseOutcomeIsUnknownIsNeverRunAgain) {
    FakePostgres server;
    Pg pg(server.conninfo(), 2000);
    pg.transact([](pqxx::work& w) { w.exec0("SET x = 1"); });  // the kept connection
    server.fail_commit = true;
    int calls = 0;
    try {
        pg.transact([&](pqxx::work& w) {
            ++calls;
            w.exec0("SET x = 2");
        });
        FAIL() << "a failed COMMIT must not look like a success";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    }
    EXPECT_EQ(calls, 1) << "a transaction whose COMMIT may have landed ran again";
    EXPECT_TRUE(pg.commit_in_doubt());
}

// One transact() call, retries included, is bounded by one PG_TIMEOUT_MS:
// here every run takes 400 ms and ends in a serialization failure. Each run
// used to get a fresh deadline, so the call ran four times (1.6 s against a
// 500 ms bound: the 503s of 2.2 s against PG_TIMEOUT_MS 1.5 s);
// now the second run is cut at the call's deadline and the call is a 503.
TEST(PgFailure, RetriesShareTheCallsDeadline) {
    FakePostgres server;
    Pg pg(server.conninfo(), 500);
    pg.transact([](pqxx::work& w) { w.exec0("SET x = 1"); });
    server.slow_conflicts = true;
    int calls = 0;
    try {
        pg.transact([&](pqxx::work& w) {
            ++calls;
            w.exec0("SET x = 2");
        });
        FAIL() << "every run fails";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    }
    EXPECT_EQ(calls, 2);
}

// Shared helpers of the queue tests: they run against the Redis and Postgres
// of the test stack (scripts/stack test exports REDIS_PORT, PG_PORT, ...), and
// start real worker processes (bazaar-test-worker) when a test needs them.
#pragma once

#include <csignal>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bazaar/config.hpp"
#include "bazaar/pg.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/redis.hpp"
#include "bazaar/time.hpp"

extern char** environ;

namespace qt {

// Like every bazaar process (shared/src/process.cpp): a write to a Redis or
// Postgres connection the server closed must be an EPIPE error, not a signal
// that ends the test binary. Over a unix socket that write is the first one.
inline const bool kSigpipeIgnored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

inline const bazaar::Config& config() {
    static const bazaar::Config c = bazaar::Config::load("/nonexistent/.env");
    return c;
}

inline std::unique_ptr<bazaar::Redis> redis() {
    const auto& c = config();
    // redis_options: one server, or the cluster of REDIS_CLUSTER (cluster pass)
    bazaar::RedisOptions o = bazaar::redis_options(c);
    o.timeout_ms = 5000;
    return std::make_unique<bazaar::Redis>(o);
}

inline bazaar::Pg& pg() {
    static bazaar::Pg p(config().pg_conninfo());
    return p;
}

inline void sql(const std::string& statement) {
    pg().transact([&](pqxx::work& w) { w.exec(statement); });
}

inline std::int64_t sql_int(const std::string& query) {
    return pg().transact([&](pqxx::work& w) { return w.exec1(query)[0].as<std::int64_t>(); });
}

// A queue name no other test (or earlier run) uses.
inline std::string unique_queue(const std::string& base) {
    return "t-" + base + "-" + bazaar::random_hex(4);
}

inline std::int64_t redis_now_ms(bazaar::Redis& r) {
    auto t = r.command({"TIME"});
    return std::stoll(std::string(t.at(0).str())) * 1000 +
           std::stoll(std::string(t.at(1).str())) / 1000;
}

inline std::map<std::string, std::string> job_hash(bazaar::Redis& r, const std::string& queue,
                                                   const std::string& id) {
    auto h = r.command({"HGETALL", bazaar::queue::QueueKeys(queue).job(id)});
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out[std::string(h.at(i).str())] = std::string(h.at(i + 1).str());
    return out;
}

// Waits for a condition that the system under test must reach; `what`
// names it in the failure. Never used to assert how fast something is.
inline bool eventually(const std::function<bool()>& cond, std::chrono::seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return cond();
}

// A bazaar-test-worker process with extra environment variables.
class WorkerProcess {
  public:
    explicit WorkerProcess(std::map<std::string, std::string> env) {
        std::map<std::string, std::string> all;
        for (char** e = environ; *e; ++e) {
            std::string kv(*e);
            auto eq = kv.find('=');
            if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
        all["BAZAAR_LUA_DIR"] = std::string(BAZAAR_SOURCE_DIR) + "/lua";
        all["WORKER_OUTBOX_RELAY"] = "0";
        all["LOG_LEVEL"] = "warn";
        for (auto& [k, v] : env) all[k] = v;
        std::vector<std::string> strings;
        for (auto& [k, v] : all) strings.push_back(k + "=" + v);
        std::vector<char*> envp;
        for (auto& s : strings) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::string log = std::string(BAZAAR_TEST_LOG_DIR) + "/test-worker.log";
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        std::string bin = BAZAAR_TEST_WORKER;
        char* argv[] = {bin.data(), nullptr};
        int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, argv, envp.data());
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) throw std::runtime_error("cannot start " + bin);
    }
    ~WorkerProcess() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int st;
            waitpid(pid_, &st, 0);
        }
    }
    WorkerProcess(const WorkerProcess&) = delete;
    WorkerProcess& operator=(const WorkerProcess&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int sig) { ::kill(pid_, sig); }
    // The exit status, or -1 if it did not exit within `limit`.
    int wait_exit(std::chrono::seconds limit) {
        auto until = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < until) {
            int st = 0;
            if (waitpid(pid_, &st, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return -1;
    }

  private:
    pid_t pid_ = -1;
};

// The tables written by the test handlers (not part of the product schema).
inline void create_test_tables() {
    sql("CREATE TABLE IF NOT EXISTS queue_test_done (queue text NOT NULL, job_id text NOT NULL, "
        "attempt int NOT NULL, pid int NOT NULL, at timestamptz NOT NULL DEFAULT now())");
    sql("CREATE TABLE IF NOT EXISTS queue_test_started (queue text NOT NULL, job_id text NOT NULL, "
        "pid int NOT NULL, at timestamptz NOT NULL DEFAULT now())");
}

}  // namespace qt

// bazaar-test-worker: the real worker runner (workers/worker.cpp) with test
// handlers instead of the product's jobs, driven by each job's data so that a
// test states what a job does when it adds it:
//   {"sleepMs": n}        work for n ms (stops early when cancelled unless
//                         "ignoreCancel": true)
//   {"failAttempts": k}   throw on attempts 1..k
//   {"permanent": true}   throw PermanentFailure
//   {"record": true}      INSERT a row into queue_test_done(queue, job_id,
//                         attempt, pid) when the attempt succeeds: the table
//                         that proves "completed exactly once"
//   {"started": true}     INSERT into queue_test_started(queue, job_id, pid)
//                         when the attempt starts (lets a test kill a worker
//                         while it holds jobs)
//   {"result": v}         v becomes the job's return value
// Environment: TEST_WORKER_QUEUES (comma list, required),
// TEST_RATE_LIMIT ("queue=max/windowMs"), TEST_CRON ("queue|key|expr|tz"),
// plus every bazaar-worker variable.
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <thread>

#include "bazaar/pg.hpp"
#include "job_registry.hpp"
#include "worker.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream in(s);
    std::string item;
    while (std::getline(in, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

void run(JobContext& job) {
    const auto& d = job.data();
    if (d.value("started", false)) {
        job.backends().pg.transact([&](pqxx::work& w) {
            w.exec_params("INSERT INTO queue_test_started (queue, job_id, pid) VALUES ($1, $2, $3)",
                          job.queue(), job.id(), static_cast<int>(getpid()));
        });
    }
    if (auto ms = d.value("sleepMs", 0); ms > 0) {
        auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        while (std::chrono::steady_clock::now() < until) {
            if (!d.value("ignoreCancel", false)) job.throw_if_cancelled();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    if (d.value("permanent", false)) throw PermanentFailure("permanent failure requested");
    if (job.attempt() <= d.value("failAttempts", 0))
        throw std::runtime_error("planned failure on attempt " + std::to_string(job.attempt()));
    if (d.value("record", false)) {
        job.backends().pg.transact([&](pqxx::work& w) {
            w.exec_params(
                "INSERT INTO queue_test_done (queue, job_id, attempt, pid) VALUES ($1, $2, $3, $4)",
                job.queue(), job.id(), job.attempt(), static_cast<int>(getpid()));
        });
    }
    if (d.contains("result")) job.set_result(d["result"]);
}

void register_from_env() {
    auto& reg = JobRegistry::global();
    const char* queues = std::getenv("TEST_WORKER_QUEUES");
    for (const auto& q : split(queues ? queues : "", ',')) reg.add_handler(q, "*", run);
    if (const char* rl = std::getenv("TEST_RATE_LIMIT")) {
        auto eq = std::string(rl).find('=');
        auto slash = std::string(rl).find('/');
        std::string s(rl);
        reg.add_queue(s.substr(0, eq),
                      {.concurrency = 0,
                       .rate_limit = {.max = std::stoi(s.substr(eq + 1, slash - eq - 1)),
                                      .duration_ms = std::stoll(s.substr(slash + 1))}});
    }
    if (const char* cron = std::getenv("TEST_CRON")) {
        auto parts = split(cron, '|');
        if (parts.size() == 4) {
            Repeatable r;
            r.queue = parts[0];
            r.key = parts[1];
            r.cron = parts[2];
            r.timezone = parts[3];
            r.job.name = "tick";
            r.job.data = {{"record", true}};
            reg.add_repeatable(std::move(r));
        }
    }
}

}  // namespace

int main() {
    register_from_env();
    return bazaar::worker::worker_main("bazaar-test-worker");
}

// The worker's outbox relay thread: waits on Postgres NOTIFY (sent at commit
// by queue::add_in_transaction) and moves the new job rows into Redis with
// queue::relay_outbox(). A one-second wait bound catches rows whose notify
// was missed (relay restarted, Postgres reconnected). Every worker process may
// run one: rows are claimed with SKIP LOCKED, and the jobId of every outbox
// job makes a repeated delivery a no-op.
#pragma once

#include <atomic>
#include <thread>

#include "bazaar/config.hpp"

namespace bazaar::worker {

class OutboxRelay {
  public:
    explicit OutboxRelay(const Config& config) : config_(config) {}
    ~OutboxRelay();

    void start();
    void stop();

  private:
    void loop();

    const Config& config_;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace bazaar::worker

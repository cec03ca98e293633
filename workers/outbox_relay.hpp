// The worker's outbox relay thread: waits on Postgres NOTIFY (sent at commit
// by queue::add_in_transaction) and moves the new job rows into Redis with
// queue::relay_outbox(). A one-second wait bound catches rows whose notify
// was missed (relay restarted, Postgres reconnected). Every worker process may
// run one: rows are claimed with SKIP LOCKED, and the jobId of every outbox
// job makes a repeated delivery a no-op.
#pragma once

#include "background_thread.hpp"
#include "bazaar/config.hpp"

namespace bazaar::worker {

class OutboxRelay final : public BackgroundThread {
  public:
    explicit OutboxRelay(const Config& config) : config_(config) {}
    ~OutboxRelay() override { stop(); }

  private:
    void loop() override;

    const Config& config_;
};

}  // namespace bazaar::worker

// A thread of the worker process that runs one loop until stop(): the outbox
// relay and the order sweeper. The loop polls stopping() at least every
// 100 ms, so stop() (SIGTERM) is prompt. A derived class calls stop() in its
// own destructor: the thread must end before the object it runs on.
#pragma once

#include <atomic>
#include <thread>

namespace bazaar::worker {

class BackgroundThread {
  public:
    BackgroundThread() = default;
    BackgroundThread(const BackgroundThread&) = delete;
    BackgroundThread& operator=(const BackgroundThread&) = delete;
    virtual ~BackgroundThread() = default;

    void start() {
        thread_ = std::thread([this] { loop(); });
    }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }

  protected:
    bool stopping() const { return stopping_; }

  private:
    virtual void loop() = 0;

    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace bazaar::worker

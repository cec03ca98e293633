// Appends job events to job:events from one background thread of the worker.
//
// Job threads, the fetcher and the finisher hand their events over here
// instead of writing them on their own round trip: the job path stays one
// script call, and events of many jobs go out in one pipelined write. If
// Redis is down the events wait (bounded: beyond kMaxBuffered the oldest are
// dropped, with a warning), so a long outage costs event history, never a job.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "bazaar/config.hpp"
#include "bazaar/queue/events.hpp"

namespace bazaar::worker {

class EventSink {
  public:
    static constexpr std::size_t kMaxBuffered = 200000;

    explicit EventSink(const Config& config);
    ~EventSink();

    void start();
    void push(std::vector<queue::JobEvent>&& events);
    // Writes what is buffered (best effort while Redis is down) and stops.
    void stop();

  private:
    void loop();

    const Config& config_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<queue::JobEvent> buffer_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace bazaar::worker

// Bounded concurrency for argon2id (login, register, password reset).
//
// One hash costs ~0.1 s of a core and 64 MiB. Without a bound, a burst of
// logins would take every handler thread of a process and starve cheap routes
// such as GET /books. The gate admits `slots` hashes at once and lets at most
// `queue` more wait (up to `wait`); anything beyond is refused at once with
// 503 + Retry-After, so at most slots + queue threads of a process are ever
// busy with password hashing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace bazaar::auth {

class HashingGate {
  public:
    HashingGate(int slots, int queue, std::chrono::milliseconds wait);

    // RAII slot; throws Error(kUnavailable) with Retry-After when the gate is
    // full or the wait expires.
    class Slot {
      public:
        explicit Slot(HashingGate& gate);
        ~Slot();
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;

      private:
        HashingGate& gate_;
    };

    int running() const;
    int waiting() const;

    // The process-wide gate, configured on first use (later calls' arguments
    // are ignored).
    static HashingGate& process(int slots, int queue, int wait_ms);

  private:
    void acquire();
    void release();

    const int slots_;
    const int queue_;
    const std::chrono::milliseconds wait_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    int running_ = 0;
    int waiting_ = 0;
};

}  // namespace bazaar::auth

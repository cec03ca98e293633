// Bounded, low-priority password hashing (login, register, password reset).
//
// One argon2id call costs ~0.1 s of a core and 64 MiB. Two protections keep
// a login flood from starving cheap routes such as GET /books:
//   - admission: `slots` hashes run at once and at most `queue` more may wait
//     (up to `wait`); anything beyond is refused at once with 503 +
//     Retry-After, so at most slots + queue handler threads of a process are
//     ever tied up by password hashing;
//   - priority: the hashes themselves run on `slots` dedicated threads at
//     nice 19, so when the cores are busy the kernel gives the request
//     threads (nice 0) nearly all of the CPU, and logins just take longer.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bazaar::auth {

class HashingGate {
  public:
    HashingGate(int slots, int queue, std::chrono::milliseconds wait);
    ~HashingGate();
    HashingGate(const HashingGate&) = delete;
    HashingGate& operator=(const HashingGate&) = delete;

    // Admission, held for a whole sign-in: take the ticket before any other
    // work of the request (the user lookup too), so a refused request costs
    // next to nothing. Throws Error(kUnavailable) with Retry-After when the
    // gate is full or the wait for a slot expires.
    class Ticket {
      public:
        explicit Ticket(HashingGate& gate);
        ~Ticket();
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        // Runs `work` on a low-priority hashing thread and waits for it; its
        // exceptions propagate.
        void run(const std::function<void()>& work);

      private:
        HashingGate& gate_;
    };

    // Ticket + run, for callers with nothing else to do under the ticket.
    void run(const std::function<void()>& work);

    int running() const;
    int waiting() const;

    // The process-wide gate, configured on first use (later calls' arguments
    // are ignored).
    static HashingGate& process(int slots, int queue, int wait_ms);

  private:
    void acquire();
    void release();
    void execute(const std::function<void()>& work);
    void worker_main();

    const int slots_;
    const int queue_;
    const std::chrono::milliseconds wait_;
    mutable std::mutex mu_;
    std::condition_variable slot_free_;
    int running_ = 0;
    int waiting_ = 0;

    // The hashing threads and their hand-over queue (never longer than
    // `slots`, since only slot holders submit).
    std::mutex work_mu_;
    std::condition_variable work_ready_;
    std::deque<std::function<void()>> work_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace bazaar::auth

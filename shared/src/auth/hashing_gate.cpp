#include "bazaar/auth/hashing_gate.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <future>

#include "bazaar/error.hpp"

namespace bazaar::auth {

namespace {
constexpr int kHashingNice = 19;

Error busy() {
    return Error(ErrorCode::kUnavailable, "too many sign-ins at once, try again in a second")
        .with_header("Retry-After", "1");
}
}  // namespace

HashingGate::HashingGate(int slots, int queue, std::chrono::milliseconds wait)
    : slots_(slots < 1 ? 1 : slots), queue_(queue < 0 ? 0 : queue), wait_(wait) {
    for (int i = 0; i < slots_; ++i) workers_.emplace_back([this] { worker_main(); });
}

HashingGate::~HashingGate() {
    {
        std::lock_guard lock(work_mu_);
        stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& t : workers_) t.join();
}

void HashingGate::worker_main() {
    // Linux applies a thread's nice value to that thread only (its tid).
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), kHashingNice);
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(work_mu_);
            work_ready_.wait(lock, [this] { return stopping_ || !work_.empty(); });
            if (work_.empty()) return;
            job = std::move(work_.front());
            work_.pop_front();
        }
        job();
    }
}

void HashingGate::acquire() {
    std::unique_lock lock(mu_);
    if (running_ < slots_) {
        ++running_;
        return;
    }
    if (waiting_ >= queue_) throw busy();
    ++waiting_;
    bool got = slot_free_.wait_for(lock, wait_, [this] { return running_ < slots_; });
    --waiting_;
    if (!got) throw busy();
    ++running_;
}

void HashingGate::release() {
    {
        std::lock_guard lock(mu_);
        --running_;
    }
    slot_free_.notify_one();
}

void HashingGate::execute(const std::function<void()>& work) {
    std::packaged_task<void()> task(work);
    auto done = task.get_future();
    {
        std::lock_guard lock(work_mu_);
        work_.emplace_back([&task] { task(); });
    }
    work_ready_.notify_one();
    done.get();  // waits, and rethrows the work's exception
}

HashingGate::Ticket::Ticket(HashingGate& gate) : gate_(gate) {
    gate_.acquire();
}
HashingGate::Ticket::~Ticket() {
    gate_.release();
}
void HashingGate::Ticket::run(const std::function<void()>& work) {
    gate_.execute(work);
}

void HashingGate::run(const std::function<void()>& work) {
    Ticket ticket(*this);
    ticket.run(work);
}

int HashingGate::running() const {
    std::lock_guard lock(mu_);
    return running_;
}

int HashingGate::waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
}

HashingGate& HashingGate::process(int slots, int queue, int wait_ms) {
    static HashingGate gate(slots, queue, std::chrono::milliseconds(wait_ms));
    return gate;
}

}  // namespace bazaar::auth

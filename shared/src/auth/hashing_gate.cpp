#include "bazaar/auth/hashing_gate.hpp"

#include "bazaar/error.hpp"

namespace bazaar::auth {

namespace {
Error busy() {
    return Error(ErrorCode::kUnavailable, "too many sign-ins at once, try again in a second")
        .with_header("Retry-After", "1");
}
}  // namespace

HashingGate::HashingGate(int slots, int queue, std::chrono::milliseconds wait)
    : slots_(slots < 1 ? 1 : slots), queue_(queue < 0 ? 0 : queue), wait_(wait) {}

void HashingGate::acquire() {
    std::unique_lock lock(mu_);
    if (running_ < slots_) {
        ++running_;
        return;
    }
    if (waiting_ >= queue_) throw busy();
    ++waiting_;
    bool got = cv_.wait_for(lock, wait_, [this] { return running_ < slots_; });
    --waiting_;
    if (!got) throw busy();
    ++running_;
}

void HashingGate::release() {
    {
        std::lock_guard lock(mu_);
        --running_;
    }
    cv_.notify_one();
}

int HashingGate::running() const {
    std::lock_guard lock(mu_);
    return running_;
}

int HashingGate::waiting() const {
    std::lock_guard lock(mu_);
    return waiting_;
}

HashingGate::Slot::Slot(HashingGate& gate) : gate_(gate) {
    gate_.acquire();
}
HashingGate::Slot::~Slot() {
    gate_.release();
}

HashingGate& HashingGate::process(int slots, int queue, int wait_ms) {
    static HashingGate gate(slots, queue, std::chrono::milliseconds(wait_ms));
    return gate;
}

}  // namespace bazaar::auth

#include "session.hpp"

#include "protocol.hpp"

namespace bazaar::ws {

Session::Session(std::uint64_t id, std::string user_id, bool admin, std::int64_t expires_at_s,
                 QueueLimits limits)
    : id_(id),
      user_id_(std::move(user_id)),
      admin_(admin),
      expires_at_(expires_at_s),
      limits_(limits) {}

bool Session::push(Frame frame) {
    if (queue_.size() >= limits_.messages || queued_bytes_ >= limits_.bytes) return false;
    push_unbounded(std::move(frame));
    return true;
}

void Session::push_unbounded(Frame frame) {
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
}

void Session::pop_front() {
    queued_bytes_ -= queue_.front()->size();
    queue_.pop_front();
}

std::size_t Session::drop_all() {
    std::size_t n = queue_.size();
    queue_.clear();
    queued_bytes_ = 0;
    return n;
}

bool Session::on_live(live::EventId id, const Frame& frame) {
    switch (mode_) {
        case Mode::kWaiting:
            return true;
        case Mode::kReplaying:
            if (pending_.size() >= kMaxPending) {
                pending_.clear();
                pending_overflowed_ = true;
            }
            pending_.push_back({id, frame});
            return true;
        case Mode::kLive:
            if (hwm_ && id <= *hwm_) return true;  // already replayed
            if (!push(frame)) return false;
            hwm_ = id;
            if (!run_start_) run_start_ = id;
            return true;
    }
    return true;
}

void Session::on_room_ready(std::optional<live::EventId> room_last) {
    if (mode_ != Mode::kWaiting) return;
    if (resume_wanted_) {
        start_replay();
        return;
    }
    if (lost_without_cursor_) {
        lost_without_cursor_ = false;
        push_unbounded(std::make_shared<const std::string>(
            resume_failed_frame("the server lost its event feed before this socket had a "
                                "position in it; reload your state")));
    }
    mode_ = Mode::kLive;
    if (!hwm_ && room_last) hwm_ = room_last;
}

void Session::on_baseline(live::EventId tail) {
    if (mode_ == Mode::kLive && !hwm_) hwm_ = tail;
}

void Session::on_room_lost() {
    ++generation_;
    page_in_flight_ = false;
    pending_.clear();
    pending_overflowed_ = false;
    if (mode_ == Mode::kReplaying) {
        resume_wanted_ = true;
        if (!first_page_ && hwm_) {  // the resume point was verified: go on from where we are
            resume_from_ = *hwm_;
            resume_verify_ = *hwm_ != live::EventId{};
        }
    } else if (mode_ == Mode::kLive) {
        if (hwm_) {
            resume_wanted_ = true;
            resume_from_ = *hwm_;
            resume_verify_ = *hwm_ != live::EventId{};
        } else {
            lost_without_cursor_ = true;
        }
    }
    mode_ = Mode::kWaiting;
}

void Session::request_resume(live::EventId from) {
    ++generation_;
    page_in_flight_ = false;
    resume_from_ = from;
    resume_verify_ = true;
    lost_without_cursor_ = false;
    if (mode_ == Mode::kWaiting) {
        resume_wanted_ = true;
        return;
    }
    start_replay();
}

void Session::start_replay() {
    skip_lo_ = run_start_;
    skip_hi_ = run_start_ ? hwm_ : std::nullopt;
    replay_first_.reset();
    mode_ = Mode::kReplaying;
    resume_wanted_ = false;
    cursor_ = resume_from_;
    first_page_ = true;
    page_in_flight_ = false;
    pending_overflowed_ = false;
}

std::optional<PageRequest> Session::next_page() {
    if (mode_ != Mode::kReplaying || page_in_flight_) return std::nullopt;
    if (queue_.size() * 2 > limits_.messages || queued_bytes_ * 2 > limits_.bytes)
        return std::nullopt;  // paced: the next page when the socket has drained
    PageRequest r;
    r.from = cursor_;
    r.inclusive = first_page_ && resume_verify_;
    r.count = kPageSize + (r.inclusive ? 1 : 0);
    r.generation = generation_;
    page_count_ = r.count;
    page_in_flight_ = true;
    // Parked frames dropped from here on may be newer than what this read
    // sees: an overflow during the read forces one more page.
    pending_overflowed_ = false;
    return r;
}

Session::PageResult Session::on_page(std::uint64_t generation,
                                     const std::vector<StreamEntry>& entries,
                                     std::optional<live::EventId> oldest) {
    if (generation != generation_ || mode_ != Mode::kReplaying || !page_in_flight_)
        return PageResult::kStale;
    page_in_flight_ = false;
    std::size_t start = 0;
    if (first_page_) {
        if (resume_verify_) {
            if (entries.empty() || entries.front().id != cursor_) {
                std::string reason = !oldest ? "unknown event id: no events are kept for this user"
                                     : cursor_ < *oldest
                                         ? "the event id is older than the kept history"
                                         : "unknown event id";
                push_unbounded(std::make_shared<const std::string>(resume_failed_frame(reason)));
                go_live(false);
                return PageResult::kFailed;
            }
            start = 1;
        }
        first_page_ = false;
        if (!hwm_ || *hwm_ < cursor_) hwm_ = cursor_;
    }
    for (std::size_t i = start; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.id <= cursor_) continue;  // never backwards, whatever Redis returns
        cursor_ = e.id;
        if (!replay_first_) replay_first_ = e.id;
        if (*hwm_ < e.id) hwm_ = e.id;
        if (skip_lo_ && *skip_lo_ <= e.id && e.id <= *skip_hi_) continue;  // sent live already
        if (e.frame) push_unbounded(e.frame);                              // null: a foreign entry
    }
    if (entries.size() >= page_count_ || pending_overflowed_) return PageResult::kContinue;
    go_live(true);
    return PageResult::kDone;
}

void Session::on_page_lost(std::uint64_t generation) {
    if (generation == generation_) page_in_flight_ = false;
}

void Session::fail_replay(std::uint64_t generation, std::string_view reason) {
    if (generation != generation_ || mode_ != Mode::kReplaying) return;
    page_in_flight_ = false;
    push_unbounded(std::make_shared<const std::string>(resume_failed_frame(reason)));
    go_live(false);
}

void Session::go_live(bool replayed) {
    if (replayed) {
        // Everything after the resume point has now been queued.
        if (skip_hi_ && *hwm_ < *skip_hi_) hwm_ = skip_hi_;
        run_start_ = replay_first_;
    }
    for (auto& e : pending_) {
        if (hwm_ && e.id <= *hwm_) continue;
        push_unbounded(std::move(e.frame));
        hwm_ = e.id;
        if (!run_start_) run_start_ = e.id;
    }
    skip_lo_.reset();
    skip_hi_.reset();
    replay_first_.reset();
    pending_.clear();
    pending_overflowed_ = false;
    mode_ = Mode::kLive;
    resume_wanted_ = false;
}

}  // namespace bazaar::ws

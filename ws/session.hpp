// One WebSocket of bazaar-ws: its bounded outgoing queue and its cursor in
// the user's event stream. Pure state (no libwebsockets, no hiredis), driven
// by the hub (hub.cpp) and unit-tested on its own (tests/unit/ws_session_test.cpp).
//
// The cursor answers "what has this socket been sent?" as `hwm`, the id of
// the last user-room event queued for it. It moves through three modes:
//
//   kWaiting ──room subscribed──▶ kLive ◀──replay done──┐
//      ▲                            │ resume             │
//      └──Redis link lost───────────┴──────────▶ kReplaying
//
// Replay (a client `resume`, or the catch-up after a Redis outage) reads the
// stream in pages after `hwm` while the room's live frames for this socket
// are parked in `pending`. The subscription is active before the first page
// is read, so every event after the resume point is in a page or in
// `pending` (or both): when a short page ends the replay, the parked frames
// newer than `hwm` follow in order and nothing is missed or sent twice. Live
// frames that arrive later are compared with `hwm` too, because the pub/sub
// connection may deliver an event after the command connection already
// replayed it. If `pending` overflows it is dropped and one more page is
// read: the events are in the stream anyway. Events this socket already got
// live (the run [run_start_, hwm]) are skipped by a resume, so a client that
// resumes on a socket that was already live gets exactly what it missed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bazaar/events/live_events.hpp"

namespace bazaar::ws {

using Frame = std::shared_ptr<const std::string>;

struct QueueLimits {
    std::size_t messages = 1000;
    std::size_t bytes = 1 << 20;
};

// XRANGE <stream> (from|[from) + COUNT count, tagged with the replay it
// belongs to (a newer resume or a lost link makes older replies stale).
struct PageRequest {
    live::EventId from;
    bool inclusive = false;  // first page of a verified resume: `from` itself must come back
    std::size_t count = 0;
    std::uint64_t generation = 0;
};

struct StreamEntry {
    live::EventId id;
    Frame frame;
};

class Session {
  public:
    enum class Mode { kWaiting, kReplaying, kLive };
    static constexpr std::size_t kPageSize = 100;
    static constexpr std::size_t kMaxPending = 2000;

    Session(std::uint64_t id, std::string user_id, bool admin, std::int64_t expires_at_s,
            QueueLimits limits);

    std::uint64_t id() const { return id_; }
    const std::string& user_id() const { return user_id_; }
    bool admin() const { return admin_; }
    std::int64_t expires_at() const { return expires_at_; }
    void set_expires_at(std::int64_t s) { expires_at_ = s; }
    // Issue time (ms) of the token the socket holds now: a revocation with a
    // not-before stamp at or after it closes the socket.
    std::int64_t issued_at_ms() const { return issued_at_ms_; }
    void set_issued_at_ms(std::int64_t ms) { issued_at_ms_ = ms; }
    Mode mode() const { return mode_; }
    std::optional<live::EventId> hwm() const { return hwm_; }

    // ---- outgoing queue
    // Queues a frame unless the queue is already at a bound; false means the
    // client does not keep up (the caller closes the socket).
    bool push(Frame frame);
    bool has_output() const { return !queue_.empty(); }
    const std::string& front() const { return *queue_.front(); }
    void pop_front();
    std::size_t queued() const { return queue_.size(); }
    std::size_t queued_bytes() const { return queued_bytes_; }
    const QueueLimits& limits() const { return limits_; }
    std::size_t drop_all();  // returns how many frames were dropped

    // ---- the user room
    // A live frame of the user room; false when the queue is full (see push).
    bool on_live(live::EventId id, const Frame& frame);
    // The room's subscription is active; `room_last` is the newest id the
    // room knows (nullopt while its baseline is unknown).
    void on_room_ready(std::optional<live::EventId> room_last);
    // The stream's newest id when the room subscribed (0-0 for an empty
    // stream): the starting point of a socket that has none yet.
    void on_baseline(live::EventId tail);
    // The Redis link is gone: wait, then catch up from `hwm`.
    void on_room_lost();
    // Client `resume`: replay what follows `from`, then live.
    void request_resume(live::EventId from);

    // The page to read now, if any (marks it in flight). Paced: nothing while
    // the queue holds more than half its bounds.
    std::optional<PageRequest> next_page();
    enum class PageResult { kStale, kContinue, kDone, kFailed };
    // A page arrived. `oldest` is the stream's first id (for the reason of a
    // failed resume). kFailed has queued resume_failed and gone live.
    PageResult on_page(std::uint64_t generation, const std::vector<StreamEntry>& entries,
                       std::optional<live::EventId> oldest);
    // The page's read failed because Redis went away (on_room_lost follows).
    void on_page_lost(std::uint64_t generation);
    // The page's read failed for good (an error reply): resume_failed, live.
    void fail_replay(std::uint64_t generation, std::string_view reason);

    // Reassembly of the message being received.
    std::string rx;
    bool rx_binary = false;
    bool rx_paused = false;  // reading stopped until the client takes its replies
    // Close requested from outside a callback of this socket.
    int close_code = 0;
    std::string close_reason;
    // The transport's handle of this socket (the lws wsi).
    void* handle = nullptr;
    // The user's not-before stamp has been read once and does not revoke the
    // token: until then nothing queued is written (the socket is open, but no
    // event reaches a client whose session was ended by a logout).
    bool verified = false;

  private:
    void push_unbounded(Frame frame);
    void go_live(bool replayed);
    void start_replay();

    std::uint64_t id_;
    std::string user_id_;
    bool admin_;
    std::int64_t expires_at_;
    std::int64_t issued_at_ms_ = 0;
    QueueLimits limits_;
    std::deque<Frame> queue_;
    std::size_t queued_bytes_ = 0;

    Mode mode_ = Mode::kWaiting;
    std::optional<live::EventId> hwm_;
    bool lost_without_cursor_ = false;  // link lost before this socket had a cursor
    // replay
    bool resume_wanted_ = false;  // start one when the room is ready
    live::EventId resume_from_;
    bool resume_verify_ = false;
    live::EventId cursor_;
    bool first_page_ = false;
    bool page_in_flight_ = false;
    std::size_t page_count_ = 0;
    bool pending_overflowed_ = false;
    std::vector<StreamEntry> pending_;
    std::uint64_t generation_ = 0;
    // Every user-room event in [run_start_, hwm_] has been queued on this
    // socket; a resume does not send those again ("exactly what it missed").
    std::optional<live::EventId> run_start_;
    std::optional<live::EventId> skip_lo_, skip_hi_;  // the run when the replay began
    std::optional<live::EventId> replay_first_;       // first id the replay covered
};

}  // namespace bazaar::ws

// The rooms of one bazaar-ws process: which sockets listen to which Redis
// channel, fan-out of live frames, and the stream reads of replays.
//
// A room (`u:<userId>`, `role:admin`; names and keys in
// bazaar/events/live_events.hpp) is subscribed while at least one socket of
// this process is in it, so a process receives exactly the events of the
// users it holds, on any number of processes. A room's channel goes through
// kIdle → kSubscribing → kSubscribed → kUnsubscribing; an SSUBSCRIBE is
// never sent while the SUNSUBSCRIBE of the same channel is in flight (the
// replies of one channel would be ambiguous), the unsubscribe reply
// re-subscribes if sockets came back.
//
// Sharded pub/sub (SSUBSCRIBE, redis_nodes.hpp): a room is subscribed on
// the link of the node serving its channel's slot (Room::link; one link in
// single mode, one per master in a cluster), and its stream is read there
// too (same hash tag). A room whose subscription is lost (its node went
// down, its slot moved: Redis pushes `sunsubscribe`, or SSUBSCRIBE answered
// MOVED) goes back to kIdle, its sockets wait as after any outage
// (Session::on_room_lost), the slot map is refreshed and the room is
// subscribed on the slot's new owner; the catch-up replay from the stream
// then sends what the sockets missed, so clients see no error.
//
// Once a user room is subscribed its baseline (the stream's newest id,
// XREVRANGE) gives new sockets their starting position, so that after a
// Redis outage every socket catches up from exactly what it was sent (see
// session.hpp). The admin room is live only: its events (image.ready) are
// notifications with ids of another stream, so `resume` covers the user's
// own events.
//
// Revoked sessions (logout, password reset; bazaar/auth/session_stamp.hpp).
// Whenever a socket's user room becomes subscribed (on join, and again after
// every Redis reconnect) the hub asks the transport to check the socket's
// token against the user's not-before stamp: reading the stamp only once the
// subscription is active means a revocation is either in the stamp or
// arrives as the `session.revoked` control message on the channel. The hub
// handles that message itself (never forwarded): every socket of the user
// whose token was issued at or before the stamp is closed with 4001.
//
// The hub never touches libwebsockets: it asks the transport to wake a
// socket for writing, to close it, or to check its session.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "redis_nodes.hpp"
#include "session.hpp"

namespace bazaar::ws {

class Hub {
  public:
    struct Transport {
        std::function<void(Session&)> wake;  // the socket has output
        std::function<void(Session&, int code, const std::string& reason)> close;
        std::function<void(Session&)> verify;  // check the user's not-before stamp
    };
    static constexpr int kCloseSessionRevoked = 4001;  // API.md: the token no longer counts

    Hub(RedisNodes& nodes, Transport transport);

    void add(Session& s);     // after the handshake
    void remove(Session& s);  // when the socket is gone
    void resume(Session& s, live::EventId last_event_id);
    // The socket wrote frames: a paced replay may read its next page.
    void drained(Session& s);
    // Closes a socket as a slow reader (1013) and drops what it had queued.
    void close_slow(Session& s);

    // RedisNodes handlers.
    void on_up(RedisLink& link);
    void on_down(RedisLink& link);
    void on_pubsub(RedisLink& link, const SubEvent& ev);
    void on_map_changed();

    std::size_t sessions() const { return sessions_.size(); }
    Session* find(std::uint64_t id) const {
        auto it = sessions_.find(id);
        return it == sessions_.end() ? nullptr : it->second;
    }
    template <class Fn>
    void for_each_session(Fn fn) {
        for (auto& [id, s] : sessions_) fn(*s);
    }
    std::size_t rooms() const { return rooms_.size(); }

  private:
    struct Room {
        enum class State { kIdle, kSubscribing, kSubscribed, kUnsubscribing };
        std::string name;
        std::string channel;
        std::string stream;
        bool user_room = true;
        State state = State::kIdle;
        RedisLink* link = nullptr;  // where it is (un)subscribed(ing); null when kIdle
        std::vector<Session*> members;
        std::optional<live::EventId> last;  // newest id seen (baseline or live)
        bool baseline_known = false;
    };

    Room& room_for(const std::string& name, bool user_room);
    void join(Room& room, Session& s);
    void leave(Room& room, Session& s);
    void subscribe(Room& room);
    void room_ready(Room& room);
    void read_baseline(Room& room);
    void deliver(Room& room, std::string_view payload);
    void revoke(Room& room, std::int64_t not_before_ms);
    void lose(Room& room);  // the subscription is gone: sockets wait, room kIdle
    void moved_away(const std::string& channel);  // a read said MOVED: start over
    void pump(Session& s);

    RedisNodes& nodes_;
    Transport transport_;
    std::unordered_map<std::string, std::unique_ptr<Room>> rooms_;  // by channel
    std::unordered_map<std::uint64_t, Session*> sessions_;
};

}  // namespace bazaar::ws

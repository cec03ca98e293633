// What a reply on bazaar-ws's sharded subscriber connection means.
//
// hiredis 0.14's async pub/sub dispatch only knows SUBSCRIBE/PSUBSCRIBE, so
// the subscriber connection reads its replies itself (redis_link.cpp) and
// this class tells them apart. Redis answers each SSUBSCRIBE/SUNSUBSCRIBE of
// one channel with one reply, in order: ["ssubscribe", ch, n],
// ["sunsubscribe", ch, n] or an error (MOVED, CLUSTERDOWN...). Besides
// those replies the server pushes ["smessage", ch, payload] and, when a
// channel's slot moved to another node (resharding, failover),
// ["sunsubscribe", ch, n] for a channel we did not unsubscribe. Keeping the
// commands in flight in order is what separates that push from the answer
// to our own SUNSUBSCRIBE, and names the channel of an error reply.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace bazaar::ws {

struct SubEvent {
    enum class Kind {
        kNone,          // nothing for the owner (unknown or unexpected reply)
        kMessage,       // a published message
        kSubscribed,    // our SSUBSCRIBE is active
        kUnsubscribed,  // our SUNSUBSCRIBE is done (or failed: not subscribed either way)
        kLost,          // not subscribed although we wanted it: slot moved, or SSUBSCRIBE failed
    };
    Kind kind = Kind::kNone;
    std::string channel;
    std::string_view payload;  // messages: the payload; kLost by error: the error text
};

class SubReplies {
  public:
    void sent(bool subscribe, std::string channel) {
        pending_.push_back({subscribe, std::move(channel)});
    }
    SubEvent on_array(std::string_view kind, std::string_view channel, std::string_view payload);
    SubEvent on_error(std::string_view text);
    void clear() { pending_.clear(); }
    std::size_t pending() const { return pending_.size(); }

  private:
    struct Sent {
        bool subscribe;
        std::string channel;
    };
    std::deque<Sent> pending_;
};

}  // namespace bazaar::ws

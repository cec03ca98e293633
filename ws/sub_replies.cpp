#include "sub_replies.hpp"

namespace bazaar::ws {

SubEvent SubReplies::on_array(std::string_view kind, std::string_view channel,
                              std::string_view payload) {
    SubEvent ev;
    ev.channel = std::string(channel);
    if (kind == "smessage") {
        ev.kind = SubEvent::Kind::kMessage;
        ev.payload = payload;
    } else if (kind == "ssubscribe") {
        if (!pending_.empty() && pending_.front().subscribe &&
            pending_.front().channel == channel) {
            pending_.pop_front();
            ev.kind = SubEvent::Kind::kSubscribed;
        }
    } else if (kind == "sunsubscribe") {
        if (!pending_.empty() && !pending_.front().subscribe &&
            pending_.front().channel == channel) {
            pending_.pop_front();
            ev.kind = SubEvent::Kind::kUnsubscribed;
        } else {
            ev.kind = SubEvent::Kind::kLost;  // pushed: the slot left this node
        }
    }
    return ev;
}

SubEvent SubReplies::on_error(std::string_view text) {
    SubEvent ev;
    if (pending_.empty()) return ev;
    Sent s = std::move(pending_.front());
    pending_.pop_front();
    ev.channel = std::move(s.channel);
    ev.payload = text;
    ev.kind = s.subscribe ? SubEvent::Kind::kLost : SubEvent::Kind::kUnsubscribed;
    return ev;
}

}  // namespace bazaar::ws

#include "hub.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>

#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/events/ws_metrics.hpp"
#include "bazaar/log.hpp"
#include "protocol.hpp"

namespace bazaar::ws {

namespace {

std::string id_text(live::EventId id) {
    return std::to_string(id.ms) + "-" + std::to_string(id.seq);
}

std::string_view str_of(const redisReply* r) {
    if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) || !r->str)
        return {};
    return {r->str, r->len};
}

// One XRANGE entry: [id, [field, value, ...]] -> its frame (null when the
// entry lacks `event`/`data`, which only a foreign writer can cause).
std::optional<StreamEntry> entry_of(const redisReply* e) {
    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 2) return std::nullopt;
    std::string_view id_str = str_of(e->element[0]);
    auto id = live::parse_event_id(id_str);
    if (!id) return std::nullopt;
    StreamEntry out{*id, nullptr};
    const redisReply* fields = e->element[1];
    std::string_view event, data;
    bool has_event = false, has_data = false;
    if (fields && fields->type == REDIS_REPLY_ARRAY) {
        for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
            std::string_view name = str_of(fields->element[i]);
            if (name == "event") event = str_of(fields->element[i + 1]), has_event = true;
            if (name == "data") data = str_of(fields->element[i + 1]), has_data = true;
        }
    }
    if (has_event && has_data)
        out.frame = std::make_shared<const std::string>(live::frame(id_str, event, data));
    return out;
}

// A cluster redirection or outage answer: the key's slot is (for now)
// served elsewhere or by nobody.
bool moved(const redisReply* r) {
    if (!r || r->type != REDIS_REPLY_ERROR || !r->str) return false;
    std::string_view e(r->str, r->len);
    for (std::string_view p : {"MOVED ", "ASK ", "TRYAGAIN", "CLUSTERDOWN"})
        if (e.substr(0, p.size()) == p) return true;
    return false;
}

}  // namespace

Hub::Hub(RedisNodes& nodes, Transport transport)
    : nodes_(nodes), transport_(std::move(transport)) {}

/* ---- sockets ------------------------------------------------------------ */

void Hub::add(Session& s) {
    sessions_[s.id()] = &s;
    join(room_for(live::user_room(s.user_id()), true), s);
    if (s.admin()) join(room_for(std::string(live::kAdminRoom), false), s);
}

void Hub::remove(Session& s) {
    sessions_.erase(s.id());
    for (const std::string& name : {live::user_room(s.user_id()), std::string(live::kAdminRoom)}) {
        auto it = rooms_.find(live::channel(name));
        if (it != rooms_.end()) leave(*it->second, s);
    }
}

void Hub::resume(Session& s, live::EventId last_event_id) {
    ws_metrics::add(ws_metrics::Counter::kResumes);
    s.request_resume(last_event_id);
    pump(s);
}

void Hub::drained(Session& s) {
    pump(s);
}

void Hub::close_slow(Session& s) {
    if (s.close_code) return;
    std::size_t dropped = s.drop_all();
    ws_metrics::add(ws_metrics::Counter::kDropped, static_cast<std::int64_t>(dropped));
    ws_metrics::add(ws_metrics::Counter::kSlowReaderCloses);
    log::warn("closing a slow reader", {{"userId", s.user_id()}, {"dropped", dropped}});
    transport_.close(s, 1013, "slow reader: outgoing queue full");
}

/* ---- rooms -------------------------------------------------------------- */

Hub::Room& Hub::room_for(const std::string& name, bool user_room) {
    std::string channel = live::channel(name);
    auto& slot = rooms_[channel];
    if (!slot) {
        slot = std::make_unique<Room>();
        slot->name = name;
        slot->channel = channel;
        slot->stream = live::stream_key(name);
        slot->user_room = user_room;
    }
    return *slot;
}

void Hub::join(Room& room, Session& s) {
    room.members.push_back(&s);
    switch (room.state) {
        case Room::State::kIdle:
            subscribe(room);
            break;
        case Room::State::kSubscribed:
            if (room.user_room) {
                transport_.verify(s);
                s.on_room_ready(room.baseline_known ? room.last : std::nullopt);
                pump(s);
                if (s.has_output()) transport_.wake(s);
            }
            break;
        case Room::State::kSubscribing:
        case Room::State::kUnsubscribing:  // its reply subscribes again
            break;
    }
}

void Hub::leave(Room& room, Session& s) {
    auto& m = room.members;
    m.erase(std::remove(m.begin(), m.end(), &s), m.end());
    if (!m.empty()) return;
    if (room.state == Room::State::kSubscribed) {
        if (room.link && room.link->unsubscribe(room.channel)) {
            room.state = Room::State::kUnsubscribing;
        } else {
            room.state = Room::State::kIdle;
            room.link = nullptr;
        }
    }
    if (room.state == Room::State::kIdle) rooms_.erase(room.channel);  // `room` is gone
}

void Hub::subscribe(Room& room) {
    RedisLink* link = nodes_.link_for(room.channel);
    if (link && link->subscribe(room.channel)) {
        room.state = Room::State::kSubscribing;
        room.link = link;
    }
    // Otherwise kIdle: on_up of its node or the next map subscribes it.
}

void Hub::room_ready(Room& room) {
    room.state = Room::State::kSubscribed;
    if (!room.user_room) return;
    for (Session* s : room.members) {
        transport_.verify(*s);
        s->on_room_ready(room.baseline_known ? room.last : std::nullopt);
        pump(*s);
        if (s->has_output()) transport_.wake(*s);
    }
    read_baseline(room);
}

void Hub::read_baseline(Room& room) {
    std::string channel = room.channel;
    if (!room.link) return;
    room.link->command({"XREVRANGE", room.stream, "+", "-", "COUNT", "1"},
                       [this, channel](redisReply* r) {
                           if (moved(r)) moved_away(channel);
                           auto it = rooms_.find(channel);
                           if (!r || r->type != REDIS_REPLY_ARRAY || it == rooms_.end()) return;
                           Room& room = *it->second;
                           if (room.state != Room::State::kSubscribed) return;
                           live::EventId tail{};
                           if (r->elements > 0) {
                               if (auto e = entry_of(r->element[0])) tail = e->id;
                           }
                           room.last = room.last ? std::max(*room.last, tail) : tail;
                           room.baseline_known = true;
                           for (Session* s : room.members) s->on_baseline(*room.last);
                       });
}

/* ---- Redis -------------------------------------------------------------- */

void Hub::on_up(RedisLink&) {
    on_map_changed();
}

void Hub::on_map_changed() {
    for (auto& [channel, room] : rooms_)
        if (!room->members.empty() && room->state == Room::State::kIdle) subscribe(*room);
}

void Hub::lose(Room& room) {
    bool was_subscribed = room.state == Room::State::kSubscribed;
    room.state = Room::State::kIdle;
    room.link = nullptr;
    room.baseline_known = false;
    if (room.user_room && was_subscribed)
        for (Session* s : room.members) s->on_room_lost();
}

void Hub::moved_away(const std::string& channel) {
    auto it = rooms_.find(channel);
    if (it == rooms_.end() || it->second->state != Room::State::kSubscribed) return;
    lose(*it->second);
    nodes_.refresh();
}

void Hub::on_down(RedisLink& link) {
    for (auto it = rooms_.begin(); it != rooms_.end();) {
        Room& room = *it->second;
        if (room.link == &link) {
            bool was_subscribed = room.state == Room::State::kSubscribed;
            lose(room);
            // A socket waiting for a replay page on this node lost it too.
            if (room.user_room && !was_subscribed)
                for (Session* s : room.members) s->on_room_lost();
        }
        it = room.members.empty() && room.state == Room::State::kIdle ? rooms_.erase(it)
                                                                      : std::next(it);
    }
}

void Hub::on_pubsub(RedisLink& link, const SubEvent& ev) {
    auto it = rooms_.find(ev.channel);
    if (it == rooms_.end()) return;
    Room& room = *it->second;
    if (room.link != &link) return;  // a reply of a link the room left
    switch (ev.kind) {
        case SubEvent::Kind::kMessage:
            if (room.state == Room::State::kSubscribed) deliver(room, ev.payload);
            break;
        case SubEvent::Kind::kSubscribed:
            if (room.members.empty()) {
                if (link.unsubscribe(room.channel)) {
                    room.state = Room::State::kUnsubscribing;
                } else {
                    rooms_.erase(it);
                }
            } else {
                room_ready(room);
            }
            break;
        case SubEvent::Kind::kUnsubscribed:
            room.state = Room::State::kIdle;
            room.link = nullptr;
            if (room.members.empty())
                rooms_.erase(it);
            else
                subscribe(room);
            break;
        case SubEvent::Kind::kLost:
            // Its slot moved (resharding, failover) or SSUBSCRIBE was
            // refused (MOVED): subscribe again where the new map says.
            log::info("room subscription lost; resubscribing",
                      {{"channel", room.channel}, {"reason", std::string(ev.payload)}});
            lose(room);
            if (room.members.empty())
                rooms_.erase(it);
            else
                nodes_.refresh();
            break;
        case SubEvent::Kind::kNone:
            break;
    }
}

void Hub::deliver(Room& room, std::string_view payload) {
    auto frame = std::make_shared<const std::string>(payload);
    if (!room.user_room) {
        for (Session* s : room.members) {
            if (s->close_code) continue;
            if (!s->push(frame))
                close_slow(*s);
            else
                transport_.wake(*s);
        }
        return;
    }
    if (auto nbf = auth::revoked_not_before(payload)) {
        revoke(room, *nbf);
        return;
    }
    auto id = frame_event_id(payload);
    if (!id) {
        log::warn("ignored a message that is not an event frame", {{"channel", room.channel}});
        return;
    }
    room.last = room.last ? std::max(*room.last, *id) : *id;
    for (Session* s : room.members) {
        if (s->close_code) continue;
        if (!s->on_live(*id, frame))
            close_slow(*s);
        else if (s->has_output())
            transport_.wake(*s);
    }
}

void Hub::revoke(Room& room, std::int64_t not_before_ms) {
    for (Session* s : room.members) {
        if (!s->close_code && !auth::issued_after_stamp(s->issued_at_ms(), not_before_ms))
            transport_.close(*s, kCloseSessionRevoked, "session revoked");
    }
}

/* ---- replay ------------------------------------------------------------- */

void Hub::pump(Session& s) {
    if (s.close_code) return;
    auto req = s.next_page();
    if (!req) return;
    std::string stream = live::stream_key(live::user_room(s.user_id()));
    std::uint64_t sid = s.id(), gen = req->generation;
    auto oldest = std::make_shared<std::optional<live::EventId>>();
    bool sent = true;
    if (req->inclusive) {
        sent = nodes_.command(stream, {"XRANGE", stream, "-", "+", "COUNT", "1"},
                              [oldest](redisReply* r) {
                                  if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0)
                                      if (auto e = entry_of(r->element[0])) *oldest = e->id;
                              });
    }
    std::string from = (req->inclusive ? "" : "(") + id_text(req->from);
    sent =
        sent && nodes_.command(
                    stream, {"XRANGE", stream, from, "+", "COUNT", std::to_string(req->count)},
                    [this, sid, gen, oldest](redisReply* r) {
                        auto it = sessions_.find(sid);
                        if (it == sessions_.end()) return;
                        Session& s = *it->second;
                        if (!r || moved(r)) {
                            // Redis went away (on_down follows), or the
                            // slot moved: the room starts over on its
                            // new node, whose subscription restarts the
                            // replay.
                            s.on_page_lost(gen);
                            if (r) moved_away(live::channel(live::user_room(s.user_id())));
                            return;
                        }
                        std::vector<StreamEntry> entries;
                        bool ok = r->type == REDIS_REPLY_ARRAY;
                        for (std::size_t i = 0; ok && i < r->elements; ++i) {
                            auto e = entry_of(r->element[i]);
                            if (e) entries.push_back(std::move(*e));
                        }
                        Session::PageResult result;
                        if (!ok) {
                            log::error("stream read failed", {{"error", std::string(str_of(r))}});
                            s.fail_replay(gen, "the event stream cannot be read");
                            result = Session::PageResult::kFailed;
                        } else {
                            result = s.on_page(gen, entries, *oldest);
                        }
                        if (result == Session::PageResult::kFailed)
                            ws_metrics::add(ws_metrics::Counter::kResumeFailures);
                        if (s.has_output()) transport_.wake(s);
                        if (result == Session::PageResult::kContinue) pump(s);
                    });
    if (!sent) s.on_page_lost(gen);  // the link is down: on_down restarts the replay later
}

}  // namespace bazaar::ws

// The client side of /ws (API.md section 6) as plain functions: what a
// client may send, the frames the server answers with, and the handshake
// inputs (cookie, Origin). No libwebsockets here, so all of it is unit-tested
// (tests/unit/ws_protocol_test.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/events/live_events.hpp"

namespace bazaar::ws {

// A complete client message, parsed. Anything that is not one of the three
// known shapes is kInvalid with a reason for the error frame (the reason
// never echoes client bytes, so an error frame is always valid UTF-8).
struct ClientMessage {
    enum class Kind { kPing, kResume, kAuth, kInvalid };
    Kind kind = Kind::kInvalid;
    live::EventId last_event_id;  // kResume
    std::string token;            // kAuth
    std::string reason;           // kInvalid
};
ClientMessage parse_client_message(std::string_view text);

// Server frames other than events.
std::string pong_frame();
std::string error_frame(std::string_view reason);
std::string resume_failed_frame(std::string_view reason);
std::string auth_ok_frame(long long expires_at_s);

// The value of cookie `name` in a Cookie header ("a=1; accessToken=x").
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// Origin check at the handshake: no Origin header (a non-browser client) is
// allowed; otherwise the origin, lower-cased, must be in `allowed` (or
// `allowed` holds "*").
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin);

// The id of an event frame ({"event":..,"id":"<ms>-<seq>",...}); nullopt when
// the payload is not one (a foreign publisher on our channel).
std::optional<live::EventId> frame_event_id(std::string_view frame);

}  // namespace bazaar::ws

// The libwebsockets side of bazaar-ws: one lws context on the process's
// libuv loop (LWS_SERVER_OPTION_LIBUV + a foreign loop, STACK.md section 5
// option B), so lws, hiredis (RedisLink) and the timers share one thread and
// nothing needs a lock.
//
// Handshake. LWS_CALLBACK_HTTP_CONFIRM_UPGRADE runs while the request headers
// are still bound and lets us answer a real HTTP status (returning >0 after
// writing the response): 403 for an Origin outside WS_ALLOWED_ORIGINS, 401
// for a missing, bad or expired token (`?token=` first, then the
// `accessToken` cookie), 503 while shutting down. Rejecting later, in
// FILTER_PROTOCOL_CONNECTION, would only drop the TCP connection.
// FILTER_PROTOCOL_CONNECTION then copies the claims into the per-socket
// data (POD, zeroed and owned by lws), and ESTABLISHED creates the Session.
//
// Every callback body runs inside try/catch: an exception closes that socket
// (or refuses that handshake), never the process. Frames are reassembled
// across fragments up to WS_MAX_MESSAGE_BYTES (beyond: close 1009); binary
// messages and malformed JSON get an error frame; invalid UTF-8 in a text
// frame is a protocol error that lws closes with 1007 (RFC 6455 8.1).
//
// Closing a socket from outside its own callbacks (slow reader, shutdown)
// sets Session::close_code and arms the socket's lws timer for "now": the
// TIMER callback sends the close frame. The same timer fires at the access
// token's expiry (close 4001 unless {"type":"auth"} moved it), and a logout
// closes the user's sockets with 4001 too (hub.hpp, "Revoked sessions").
#pragma once

#include <uv.h>

#include <memory>

#include "bazaar/config.hpp"

namespace bazaar::ws {

// Runs bazaar-ws on `loop` until SIGTERM/SIGINT and a graceful close of
// every socket (1001). Returns the process exit status.
int run_server(const Config& config, uv_loop_t* loop);

}  // namespace bazaar::ws

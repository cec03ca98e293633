#include "server.hpp"

#include <hiredis/hiredis.h>
#include <libwebsockets.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "access.hpp"
#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/events/ws_metrics.hpp"
#include "bazaar/log.hpp"
#include "hub.hpp"
#include "protocol.hpp"
#include "redis_link.hpp"
#include "session.hpp"

namespace bazaar::ws {

namespace {

using M = ws_metrics::Counter;

constexpr int kCloseTokenExpired = 4001;
constexpr std::uint64_t kShutdownGraceMs = 3000;

// Per-socket data: zeroed raw memory owned by lws (no constructor runs), so
// plain data only; the Session is new'd in ESTABLISHED, deleted in CLOSED.
struct Pss {
    Session* session;
    char user_id[64];
    bool admin;
    long long expires_at;
    long long issued_at_ms;
};

struct Server {
    const Config* config = nullptr;
    uv_loop_t* loop = nullptr;
    lws_context* context = nullptr;
    RedisNodes* nodes = nullptr;
    Hub* hub = nullptr;
    std::uint64_t next_session_id = 0;
    bool shutting_down = false;
    std::uint64_t shutdown_started_ms = 0;
    std::vector<unsigned char> scratch;
    // Open sockets per user in this process (WS_MAX_SOCKETS_PER_USER bounds
    // it at the handshake): one account cannot take every connection slot.
    std::unordered_map<std::string, int> sockets_of_user;
    uv_signal_t sigterm{}, sigint{};
    uv_timer_t shutdown_timer{};
};
Server g;

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string header(lws* wsi, lws_token_indexes token) {
    int len = lws_hdr_total_length(wsi, token);
    if (len <= 0) return {};
    std::string out(static_cast<std::size_t>(len) + 1, '\0');
    int n = lws_hdr_copy(wsi, out.data(), len + 1, token);
    if (n < 0) return {};
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// `?token=` first (explicit), then the accessToken cookie.
std::optional<auth::AccessClaims> handshake_claims(lws* wsi) {
    char buf[4200];
    if (const char* v = lws_get_urlarg_by_name(wsi, "token=", buf, sizeof buf); v && *v)
        return authenticate(v, *g.config);
    if (auto cookie = cookie_value(header(wsi, WSI_TOKEN_HTTP_COOKIE), "accessToken"))
        return authenticate(*cookie, *g.config);
    return std::nullopt;
}

// Answers the HTTP request with `status` and an API.md error body. Returns
// 1, what CONFIRM_UPGRADE expects after a response was written (-1 if the
// response could not be written: hang up).
int http_error(lws* wsi, unsigned status, const char* code, const char* message) {
    std::string body =
        nlohmann::json{
            {"success", false},
            {"error", {{"code", code}, {"message", message}, {"details", nlohmann::json::array()}}}}
            .dump();
    std::vector<unsigned char> buf(LWS_PRE + 1024 + body.size());
    unsigned char* start = buf.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buf.data() + buf.size() - body.size() - 1;
    if (lws_add_http_common_headers(wsi, status, "application/json; charset=utf-8", body.size(), &p,
                                    end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    std::memcpy(p, body.data(), body.size());
    if (lws_write(wsi, p, body.size(), LWS_WRITE_HTTP_FINAL) < static_cast<int>(body.size()))
        return -1;
    return 1;
}

int close_with(lws* wsi, int code, const std::string& reason) {
    std::string r = reason.substr(0, 120);  // a close frame's payload is at most 125 bytes
    lws_close_reason(wsi, static_cast<lws_close_status>(code),
                     reinterpret_cast<unsigned char*>(r.data()), r.size());
    return -1;
}

// Closes a socket from outside its callbacks: its TIMER callback, armed for
// "now", sends the close frame (a choked socket never becomes writable, its
// timer still fires; measured: returning -1 from WRITEABLE instead lost the
// close frame, the client saw 1006). The timer is armed outside lws's own
// service, so lws is woken to take it into account.
void request_close(Session& s, int code, const std::string& reason) {
    if (s.close_code) return;
    s.close_code = code;
    s.close_reason = reason;
    auto* wsi = static_cast<lws*>(s.handle);
    lws_set_timer_usecs(wsi, 1);
    lws_cancel_service(g.context);
}

void arm_expiry(lws* wsi, const Session& s) {
    std::int64_t left = s.expires_at() - now_s();
    lws_set_timer_usecs(wsi, left > 0 ? left * LWS_US_PER_SEC : 1);
}

// Queues a reply to the client's own message. A burst of requests (10,000
// pings in one write) pauses reading from the socket at half the queue
// bound until the replies are written, so it is served at the client's own
// reading speed; a client that never reads hits the bound and gets 1008.
int reply(lws* wsi, Session& s, std::string frame) {
    if (!s.push(std::make_shared<const std::string>(std::move(frame))))
        return close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "not reading replies");
    if (!s.rx_paused && s.queued() * 2 > s.limits().messages) {
        s.rx_paused = true;
        lws_rx_flow_control(wsi, 0);
    }
    lws_callback_on_writable(wsi);
    return 0;
}

/* ---- the not-before stamp (logout) ------------------------------------- */
//
// Why accept first and close with 4001 instead of holding the upgrade: the
// stamp is read with the async command connection (never a blocking GET on
// the event loop), and lws cannot suspend CONFIRM_UPGRADE until a reply
// comes. So the socket is accepted, its room subscribed, and nothing queued
// for it is written until the stamp was read (Session::verified): a revoked
// token's socket is closed with 4001 before any event reaches it. Reading
// after the subscription is active closes the race with a concurrent
// logout (hub.hpp). Redis unreachable: accepted, as on the REST side
// (session_stamp.hpp); the check runs again when the room is resubscribed.

// The stamp in a GET reply (nullopt: none, or the link went down).
std::optional<std::int64_t> stamp_of(const redisReply* r) {
    if (!r || r->type != REDIS_REPLY_STRING || !r->str) return std::nullopt;
    return auth::parse_stamp({r->str, r->len});
}

void verify_session(Session& s) {
    std::uint64_t sid = s.id();
    auto done = [sid](redisReply* r) {
        Session* s = g.hub->find(sid);
        if (!s || s->close_code) return;
        if (!auth::issued_after_stamp(s->issued_at_ms(), stamp_of(r))) {
            ws_metrics::add(M::kRefusedUnauthorized);
            request_close(*s, Hub::kCloseSessionRevoked, "session revoked");
            return;
        }
        if (!s->verified) {
            s->verified = true;
            if (s->has_output()) lws_callback_on_writable(static_cast<lws*>(s->handle));
        }
    };
    std::string key = auth::not_before_key(s.user_id());
    if (!g.nodes->command(key, {"GET", key}, done)) done(nullptr);
}

// {"type":"auth"}: the new token counts once its issue time is after the
// user's stamp (one async GET; fail open while Redis is down).
void reauthenticate(Session& s, const auth::AccessClaims& claims) {
    std::uint64_t sid = s.id();
    std::int64_t issued = claims.issued_at_ms, expires = claims.expires_at;
    auto done = [sid, issued, expires](redisReply* r) {
        Session* s = g.hub->find(sid);
        if (!s || s->close_code) return;
        auto* wsi = static_cast<lws*>(s->handle);
        if (!auth::issued_after_stamp(issued, stamp_of(r))) {
            ws_metrics::add(M::kErrorsSent);
            if (reply(wsi, *s, error_frame("the session has ended; sign in again")) < 0)
                request_close(*s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "not reading replies");
            return;
        }
        s->set_expires_at(expires);
        s->set_issued_at_ms(issued);
        arm_expiry(wsi, *s);
        if (reply(wsi, *s, auth_ok_frame(expires)) < 0)
            request_close(*s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "not reading replies");
    };
    std::string key = auth::not_before_key(s.user_id());
    if (!g.nodes->command(key, {"GET", key}, done)) done(nullptr);
}

int on_message(lws* wsi, Session& s, const std::string& text, bool binary) {
    ws_metrics::add(M::kMessagesIn);
    if (binary) {
        ws_metrics::add(M::kErrorsSent);
        return reply(wsi, s, error_frame("text messages only"));
    }
    ClientMessage m = parse_client_message(text);
    switch (m.kind) {
        case ClientMessage::Kind::kPing:
            return reply(wsi, s, pong_frame());
        case ClientMessage::Kind::kResume:
            g.hub->resume(s, m.last_event_id);
            if (s.has_output()) lws_callback_on_writable(wsi);
            return 0;
        case ClientMessage::Kind::kAuth: {
            auto claims = authenticate(m.token, *g.config);
            if (!claims) {
                ws_metrics::add(M::kErrorsSent);
                return reply(wsi, s, error_frame("the token is invalid or expired"));
            }
            if (claims->user_id != s.user_id()) {
                ws_metrics::add(M::kErrorsSent);
                return reply(wsi, s, error_frame("the token belongs to another user"));
            }
            reauthenticate(s, *claims);
            return 0;
        }
        case ClientMessage::Kind::kInvalid:
            ws_metrics::add(M::kErrorsSent);
            return reply(wsi, s, error_frame(m.reason));
    }
    return 0;
}

int on_receive(lws* wsi, Session& s, const char* in, std::size_t len) {
    if (lws_is_first_fragment(wsi)) {
        s.rx.clear();
        s.rx_binary = lws_frame_is_binary(wsi);
    }
    if (s.rx.size() + len > g.config->ws_max_message_bytes) {
        ws_metrics::add(M::kOversizeCloses);
        s.rx.clear();
        s.rx.shrink_to_fit();
        return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
    }
    s.rx.append(in, len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) > 0) return 0;
    std::string text;
    text.swap(s.rx);
    return on_message(wsi, s, text, s.rx_binary);
}

int on_writeable(lws* wsi, Session& s) {
    if (s.close_code) return 0;  // the TIMER callback closes it (see request_close)
    if (!s.verified) return 0;   // verify_session wakes it
    int written = 0;
    while (s.has_output() && written < 64) {
        const std::string& m = s.front();
        g.scratch.resize(LWS_PRE + m.size());
        std::memcpy(g.scratch.data() + LWS_PRE, m.data(), m.size());
        if (lws_write(wsi, g.scratch.data() + LWS_PRE, m.size(), LWS_WRITE_TEXT) <
            static_cast<int>(m.size()))
            return -1;
        s.pop_front();
        ++written;
        ws_metrics::add(M::kMessagesOut);
        if (lws_send_pipe_choked(wsi)) break;
    }
    if (s.rx_paused && s.queued() * 4 <= s.limits().messages) {
        s.rx_paused = false;
        lws_rx_flow_control(wsi, 1);
    }
    g.hub->drained(s);
    if (s.has_output()) lws_callback_on_writable(wsi);
    return 0;
}

int handle(lws* wsi, lws_callback_reasons reason, Pss* pss, void* in, std::size_t len) {
    switch (reason) {
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
            if (g.shutting_down)
                return http_error(wsi, 503, "UNAVAILABLE", "the server is shutting down");
            if (!origin_allowed(g.config->ws_allowed_origins, header(wsi, WSI_TOKEN_ORIGIN))) {
                ws_metrics::add(M::kRefusedOrigin);
                return http_error(wsi, 403, "FORBIDDEN", "this origin may not open /ws");
            }
            auto claims = handshake_claims(wsi);
            if (!claims) {
                ws_metrics::add(M::kRefusedUnauthorized);
                return http_error(wsi, 401, "UNAUTHENTICATED",
                                  "the access token is missing, invalid or expired");
            }
            // Counted at ESTABLISHED, which follows this callback within the
            // same service call, so two handshakes cannot both take the last slot.
            auto open = g.sockets_of_user.find(claims->user_id);
            if (open != g.sockets_of_user.end() &&
                open->second >= g.config->ws_max_sockets_per_user) {
                log::warn(
                    "ws socket refused: per-user limit",
                    {{"userId", claims->user_id}, {"limit", g.config->ws_max_sockets_per_user}});
                return http_error(wsi, 429, "RATE_LIMITED",
                                  "too many open sockets for this user; close one first");
            }
            return 0;
        }
        case LWS_CALLBACK_HTTP:  // a plain request to the WebSocket port
            if (http_error(wsi, 426, "UPGRADE_REQUIRED", "this endpoint speaks WebSocket only") < 0)
                return -1;
            return lws_http_transaction_completed(wsi) ? -1 : 0;
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
            auto claims = handshake_claims(wsi);  // checked at CONFIRM_UPGRADE; copied here
            if (!claims || !pss || claims->user_id.size() >= sizeof pss->user_id) return -1;
            std::memcpy(pss->user_id, claims->user_id.c_str(), claims->user_id.size() + 1);
            pss->admin = claims->role == "admin";
            pss->expires_at = claims->expires_at;
            pss->issued_at_ms = claims->issued_at_ms;
            return 0;
        }
        case LWS_CALLBACK_ESTABLISHED: {
            if (!pss || !pss->user_id[0]) return -1;
            pss->session =
                new Session(++g.next_session_id, pss->user_id, pss->admin, pss->expires_at,
                            {g.config->ws_send_queue_messages, g.config->ws_send_queue_bytes});
            pss->session->handle = wsi;
            pss->session->set_issued_at_ms(pss->issued_at_ms);
            ++g.sockets_of_user[pss->session->user_id()];
            ws_metrics::add(M::kConnections);
            ws_metrics::add(M::kConnectionsTotal);
            g.hub->add(*pss->session);
            // Redis down: no stamp to read, accepted (fail open, see verify_session);
            // the room's resubscription checks it when the link is back.
            if (!g.nodes->up_for(live::channel(live::user_room(pss->session->user_id()))))
                pss->session->verified = true;
            arm_expiry(wsi, *pss->session);
            if (g.shutting_down)
                request_close(*pss->session, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
            return 0;
        }
        case LWS_CALLBACK_CLOSED:
            if (pss && pss->session) {
                if (auto it = g.sockets_of_user.find(pss->session->user_id());
                    it != g.sockets_of_user.end() && --it->second <= 0)
                    g.sockets_of_user.erase(it);
                g.hub->remove(*pss->session);
                delete pss->session;
                pss->session = nullptr;
                ws_metrics::add(M::kConnections, -1);
            }
            return 0;
        case LWS_CALLBACK_RECEIVE:
            if (!pss || !pss->session) return -1;
            if (pss->session->close_code) return 0;  // closing: ignore what it still sends
            return on_receive(wsi, *pss->session, static_cast<const char*>(in), len);
        case LWS_CALLBACK_SERVER_WRITEABLE:
            if (!pss || !pss->session) return 0;
            return on_writeable(wsi, *pss->session);
        case LWS_CALLBACK_TIMER: {
            if (!pss || !pss->session) return 0;
            Session& s = *pss->session;
            if (s.close_code) return close_with(wsi, s.close_code, s.close_reason);
            if (now_s() >= s.expires_at())
                return close_with(wsi, kCloseTokenExpired, "access token expired");
            arm_expiry(wsi, s);
            return 0;
        }
        default:
            return 0;
    }
}

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    try {
        return handle(wsi, reason, static_cast<Pss*>(user), in, len);
    } catch (const std::exception& e) {
        log::error("ws callback failed; closing the socket",
                   {{"reason", static_cast<int>(reason)}, {"error", e.what()}});
    } catch (...) {
        log::error("ws callback failed; closing the socket",
                   {{"reason", static_cast<int>(reason)}});
    }
    return -1;
}

const lws_protocols kProtocols[] = {
    {"bazaar", callback, sizeof(Pss), 4096, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

/* ---- shutdown ----------------------------------------------------------- */

void finish_shutdown() {
    // Whatever handle lws might still hold must not keep the process alive.
    static uv_timer_t last_resort;
    uv_timer_init(g.loop, &last_resort);
    uv_timer_start(
        &last_resort, [](uv_timer_t* t) { uv_stop(t->loop); }, 2000, 0);
    uv_unref(reinterpret_cast<uv_handle_t*>(&last_resort));
    uv_timer_stop(&g.shutdown_timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&g.shutdown_timer), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&g.sigterm), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&g.sigint), nullptr);
    g.nodes->stop();
    lws_context_destroy(g.context);
    g.context = nullptr;
}

void on_shutdown_tick(uv_timer_t*) {
    if (g.hub->sessions() == 0 || uv_now(g.loop) - g.shutdown_started_ms > kShutdownGraceMs) {
        log::info("bazaar-ws stopping", {{"openSockets", g.hub->sessions()}});
        finish_shutdown();
    }
}

void on_signal(uv_signal_t*, int signum) {
    if (g.shutting_down) return;
    g.shutting_down = true;
    g.shutdown_started_ms = uv_now(g.loop);
    log::info("bazaar-ws shutting down", {{"signal", signum}, {"openSockets", g.hub->sessions()}});
    g.hub->for_each_session(
        [](Session& s) { request_close(s, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down"); });
    uv_timer_start(&g.shutdown_timer, on_shutdown_tick, 20, 20);
}

}  // namespace

int run_server(const Config& config, uv_loop_t* loop) {
    g.config = &config;
    g.loop = loop;
    std::filesystem::create_directories(config.var_dir + "/run");
    ws_metrics::open_writer(config.var_dir + "/run/ws-" + std::to_string(config.ws_port) +
                            ".metrics");

    Hub* hub = nullptr;
    RedisNodes link(
        loop,
        {config.redis_host, config.redis_port, config.redis_cluster, config.redis_timeout_ms,
         "ws:heartbeat:" + std::to_string(config.ws_port) + ":" + std::to_string(getpid())},
        {[&](RedisLink& l) { hub->on_up(l); }, [&](RedisLink& l) { hub->on_down(l); },
         [&](RedisLink& l, const SubEvent& ev) {
             try {
                 hub->on_pubsub(l, ev);
             } catch (const std::exception& e) {
                 log::error("pubsub handler failed", {{"error", e.what()}});
             }
         },
         [&] { hub->on_map_changed(); }});
    Hub::Transport transport{
        [](Session& s) { lws_callback_on_writable(static_cast<lws*>(s.handle)); },
        [](Session& s, int code, const std::string& reason) { request_close(s, code, reason); },
        [](Session& s) { verify_session(s); }};
    Hub hub_instance(link, transport);
    hub = &hub_instance;
    g.nodes = &link;
    g.hub = &hub_instance;

    lws_set_log_level(LLL_ERR, nullptr);
    lws_context_creation_info info{};
    void* foreign_loops[1] = {loop};
    info.port = config.ws_port;
    info.iface = config.ws_listen_address.c_str();
    info.protocols = kProtocols;
    info.fd_limit_per_thread = 65536;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBUV |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN;
    info.foreign_loops = foreign_loops;
    info.timeout_secs = 10;  // handshake
    g.context = lws_create_context(&info);
    if (!g.context) {
        log::error("cannot create the WebSocket context", {{"port", config.ws_port}});
        link.stop();
        uv_run(loop, UV_RUN_DEFAULT);
        return 1;
    }
    uv_signal_init(loop, &g.sigterm);
    uv_signal_init(loop, &g.sigint);
    uv_signal_start(&g.sigterm, on_signal, SIGTERM);
    uv_signal_start(&g.sigint, on_signal, SIGINT);
    uv_timer_init(loop, &g.shutdown_timer);
    link.start();
    log::info("bazaar-ws ready",
              {{"port", config.ws_port}, {"allowedOrigins", config.ws_allowed_origins}});
    uv_run(loop, UV_RUN_DEFAULT);
    log::info("bazaar-ws stopped");
    return 0;
}

}  // namespace bazaar::ws

// bazaar-ws: the WebSocket endpoint behind nginx's /ws. For now it accepts
// connections and answers {"type":"ping"} with {"type":"pong"}; the Redis
// bridge to per-user rooms builds on this loop.
#include <libwebsockets.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>

#include "bazaar/log.hpp"
#include "bazaar/process.hpp"

namespace {

std::atomic<bool> g_stop{false};
lws_context* g_context = nullptr;

// Per-socket state lives in memory lws zeroes and owns (no constructors run),
// so it holds only a pointer to an object we own.
struct Session {
    std::deque<std::string> outbox;
};
struct SessionSlot {
    Session* session;
};

constexpr std::size_t kMaxQueued = 256;

int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len) {
    auto* slot = static_cast<SessionSlot*>(user);
    switch (reason) {
        case LWS_CALLBACK_ESTABLISHED:
            slot->session = new Session();
            bazaar::log::debug("ws connected");
            break;
        case LWS_CALLBACK_CLOSED:
            delete slot->session;
            slot->session = nullptr;
            break;
        case LWS_CALLBACK_RECEIVE: {
            if (!slot->session) break;
            auto msg = nlohmann::json::parse(static_cast<const char*>(in),
                                             static_cast<const char*>(in) + len, nullptr, false);
            std::string reply;
            if (msg.is_object() && msg.value("type", "") == "ping") {
                reply = R"({"type":"pong"})";
            } else {
                reply =
                    R"({"type":"error","error":{"code":"VALIDATION_FAILED","message":"unknown message"}})";
            }
            if (slot->session->outbox.size() >= kMaxQueued) {
                lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, nullptr, 0);
                return -1;
            }
            slot->session->outbox.push_back(std::move(reply));
            lws_callback_on_writable(wsi);
            break;
        }
        case LWS_CALLBACK_SERVER_WRITEABLE: {
            if (!slot->session || slot->session->outbox.empty()) break;
            std::string& m = slot->session->outbox.front();
            std::string buf(LWS_PRE + m.size(), '\0');
            std::memcpy(&buf[LWS_PRE], m.data(), m.size());
            if (lws_write(wsi, reinterpret_cast<unsigned char*>(&buf[LWS_PRE]), m.size(),
                          LWS_WRITE_TEXT) < static_cast<int>(m.size()))
                return -1;
            slot->session->outbox.pop_front();
            if (!slot->session->outbox.empty()) lws_callback_on_writable(wsi);
            break;
        }
        default:
            break;
    }
    return 0;
}

const lws_protocols kProtocols[] = {
    {"bazaar", callback, sizeof(SessionSlot), 4096, 0, nullptr, 0},
    {nullptr, nullptr, 0, 0, 0, nullptr, 0},
};

void on_signal(int) {
    g_stop = true;
    if (g_context) lws_cancel_service(g_context);
}

}  // namespace

int main() {
    using namespace bazaar;
    Config config = start_process("bazaar-ws");
    lws_set_log_level(LLL_ERR, nullptr);

    lws_context_creation_info info{};
    info.port = config.ws_port;
    info.iface = "127.0.0.1";
    info.protocols = kProtocols;
    info.fd_limit_per_thread = 16384;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
    g_context = lws_create_context(&info);
    if (!g_context) {
        log::error("cannot create the WebSocket context", {{"port", config.ws_port}});
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    log::info("bazaar-ws ready", {{"port", config.ws_port}});
    while (!g_stop) {
        if (lws_service(g_context, 0) < 0) break;
    }
    lws_context_destroy(g_context);
    log::info("bazaar-ws stopped");
    return 0;
}

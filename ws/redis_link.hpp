// bazaar-ws's two connections to one Redis server (or one cluster master)
// on the process's libuv loop (STACK.md section 5 option B): one in
// subscribe mode for the rooms' channels, one for commands (stream reads,
// hiredis 0.14 async). No threads, no locks.
//
// Sharded pub/sub (SSUBSCRIBE/SUNSUBSCRIBE, Redis 7, in standalone mode as
// in a cluster): hiredis 0.14's async client cannot dispatch `smessage`
// replies, so the subscriber connection is a non-blocking hiredis context
// polled by libuv whose replies this class reads and sorts itself
// (sub_replies.hpp).
//
// Liveness. hiredis 0.14 has no async timeouts, and a frozen Redis (SIGSTOP,
// a stuck host) accepts TCP and never answers. So the link watches itself:
// every second it SPUBLISHes on its own heartbeat channel through the command
// connection and expects the message back on the subscriber connection,
// which proves both directions of both connections. No heartbeat for
// `3 s or 4 x REDIS_TIMEOUT_MS`, a connect that does not complete in that
// time, or any disconnect tears down BOTH connections (on_down), and
// reconnects with backoff (100 ms doubling to 2 s); when both are back and
// the heartbeat channel is subscribed, on_up fires and the owner
// resubscribes its rooms. The heartbeat subscription also keeps the
// connection in subscribe mode when no room is subscribed. In a cluster the
// heartbeat channel is one whose slot the node serves (redis_nodes.hpp); if
// that slot moves away the link resets like on a disconnect.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sub_replies.hpp"

struct redisAsyncContext;
struct redisContext;
struct redisReply;

namespace bazaar::ws {

class RedisLink {
  public:
    struct Handlers {
        std::function<void()> on_up;
        std::function<void()> on_down;
        // A room channel's subscription changed or a message came (never the
        // heartbeat channel's).
        std::function<void(const SubEvent&)> on_pubsub;
    };
    // A command's reply, or nullptr when the link went down before it came.
    using ReplyFn = std::function<void(redisReply*)>;

    RedisLink(uv_loop_t* loop, std::string host, int port, int timeout_ms,
              std::string heartbeat_channel, Handlers handlers);
    ~RedisLink();
    RedisLink(const RedisLink&) = delete;
    RedisLink& operator=(const RedisLink&) = delete;

    void set_handlers(Handlers handlers) { handlers_ = std::move(handlers); }
    void start();
    void stop();  // closes everything; no more callbacks after it
    // After stop(): true once libuv released the link's handles (the object
    // may be destroyed).
    bool closed() const { return closed_handles_ == 2; }
    bool up() const { return up_; }
    const std::string& host() const { return host_; }
    int port() const { return port_; }
    const std::string& heartbeat_channel() const { return heartbeat_; }

    // Both return false (and do nothing) while the link is down.
    bool subscribe(const std::string& channel);
    bool unsubscribe(const std::string& channel);
    bool command(const std::vector<std::string>& args, ReplyFn done);

  private:
    static void on_connect(const redisAsyncContext* ac, int status);
    static void on_disconnect(const redisAsyncContext* ac, int status);
    static void on_sub_poll(uv_poll_t* handle, int status, int events);
    static void on_command_reply(redisAsyncContext* ac, void* reply, void* privdata);
    static void on_tick(uv_timer_t* t);
    static void on_retry(uv_timer_t* t);

    void connect();
    void reset(const char* why);  // tear down both connections, on_down, retry later
    void connected();
    void close_sub();
    bool send_sub(const std::vector<std::string>& args);
    void flush_sub();
    void sub_reply(redisReply* r);
    std::uint64_t now_ms() const;

    uv_loop_t* loop_;
    std::string host_;
    int port_;
    std::uint64_t stall_ms_;
    std::string heartbeat_;
    Handlers handlers_;
    redisContext* sub_ = nullptr;
    uv_poll_t* sub_poll_ = nullptr;  // freed by its close callback
    bool sub_connected_ = false;
    SubReplies replies_;
    redisAsyncContext* cmd_ = nullptr;
    int connected_ = 0;
    bool up_ = false;
    bool stopped_ = true;
    bool handles_closing_ = false;
    int closed_handles_ = 0;
    bool ever_up_ = false;
    std::uint64_t connect_started_ms_ = 0;
    std::uint64_t heartbeat_seen_ms_ = 0;
    std::uint64_t backoff_ms_ = 100;
    uv_timer_t tick_{};
    uv_timer_t retry_{};
};

}  // namespace bazaar::ws

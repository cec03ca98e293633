#include "redis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <hiredis/adapters/libuv.h>
#pragma GCC diagnostic pop

#include <sys/socket.h>

#include <algorithm>

#include "bazaar/events/ws_metrics.hpp"
#include "bazaar/log.hpp"

namespace bazaar::ws {

namespace {
RedisLink* link_of(const redisAsyncContext* ac) {
    return static_cast<RedisLink*>(ac->data);
}

struct Argv {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    explicit Argv(const std::vector<std::string>& args) {
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
    }
    int argc() const { return static_cast<int>(argv.size()); }
};

bool send_argv(redisAsyncContext* ac, redisCallbackFn* fn, void* privdata,
               const std::vector<std::string>& args) {
    Argv a(args);
    return redisAsyncCommandArgv(ac, fn, privdata, a.argc(), a.argv.data(), a.lens.data()) ==
           REDIS_OK;
}

std::string_view text_of(const redisReply* r) {
    if (!r || !r->str) return {};
    return {r->str, r->len};
}
}  // namespace

RedisLink::RedisLink(uv_loop_t* loop, std::string host, int port, int timeout_ms,
                     std::string heartbeat_channel, Handlers handlers)
    : loop_(loop),
      host_(std::move(host)),
      port_(port),
      stall_ms_(std::max<std::uint64_t>(3000, 4ULL * static_cast<std::uint64_t>(timeout_ms))),
      heartbeat_(std::move(heartbeat_channel)),
      handlers_(std::move(handlers)) {
    uv_timer_init(loop_, &tick_);
    uv_timer_init(loop_, &retry_);
    tick_.data = this;
    retry_.data = this;
}

RedisLink::~RedisLink() {
    stop();
}

std::uint64_t RedisLink::now_ms() const {
    return uv_now(loop_);
}

void RedisLink::start() {
    stopped_ = false;
    uv_timer_start(&tick_, on_tick, 1000, 1000);
    connect();
}

void RedisLink::stop() {
    stopped_ = true;
    up_ = false;
    if (!handles_closing_) {
        handles_closing_ = true;
        uv_timer_stop(&tick_);
        uv_timer_stop(&retry_);
        auto closed = [](uv_handle_t* h) { ++static_cast<RedisLink*>(h->data)->closed_handles_; };
        uv_close(reinterpret_cast<uv_handle_t*>(&tick_), closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&retry_), closed);
    }
    close_sub();
    if (cmd_) {
        auto* c = cmd_;
        cmd_ = nullptr;
        c->data = nullptr;
        redisAsyncFree(c);
    }
}

void RedisLink::close_sub() {
    if (sub_poll_) {
        uv_poll_stop(sub_poll_);
        uv_close(reinterpret_cast<uv_handle_t*>(sub_poll_),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
        sub_poll_ = nullptr;
    }
    if (sub_) {
        redisFree(sub_);
        sub_ = nullptr;
    }
    sub_connected_ = false;
    replies_.clear();
}

void RedisLink::connect() {
    if (stopped_ || sub_ || cmd_) return;
    connected_ = 0;
    connect_started_ms_ = now_ms();
    // The subscriber: non-blocking, polled here; writable = connected.
    sub_ = redisConnectNonBlock(host_.c_str(), port_);
    if (!sub_ || sub_->err) {
        log::warn("redis connect failed", {{"error", sub_ ? sub_->errstr : "out of memory"}});
        reset("connect failed");
        return;
    }
    sub_poll_ = new uv_poll_t{};
    if (uv_poll_init(loop_, sub_poll_, sub_->fd) != 0) {
        delete sub_poll_;
        sub_poll_ = nullptr;
        reset("cannot poll the subscriber connection");
        return;
    }
    sub_poll_->data = this;
    uv_poll_start(sub_poll_, UV_WRITABLE, on_sub_poll);

    redisAsyncContext* ac = redisAsyncConnect(host_.c_str(), port_);
    if (!ac || ac->err) {
        log::warn("redis connect failed", {{"error", ac ? ac->errstr : "out of memory"}});
        if (ac) redisAsyncFree(ac);
        reset("connect failed");
        return;
    }
    ac->data = this;
    redisLibuvAttach(ac, loop_);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    cmd_ = ac;
}

void RedisLink::reset(const char* why) {
    bool was_up = up_;
    up_ = false;
    // Free what is left; a context that is disconnecting right now is
    // freed by hiredis itself (its slot was cleared by the caller).
    close_sub();
    if (auto* c = cmd_) {
        cmd_ = nullptr;
        c->data = nullptr;
        redisAsyncFree(c);
    }
    if (was_up) {
        log::warn("redis link down", {{"reason", why}});
        if (handlers_.on_down) handlers_.on_down();
    }
    if (stopped_) return;
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&retry_))) {
        uv_timer_start(&retry_, on_retry, backoff_ms_, 0);
        backoff_ms_ = std::min<std::uint64_t>(backoff_ms_ * 2, 2000);
    }
}

void RedisLink::on_retry(uv_timer_t* t) {
    auto* self = static_cast<RedisLink*>(t->data);
    self->connect();
}

void RedisLink::on_connect(const redisAsyncContext* ac, int status) {
    RedisLink* self = link_of(ac);
    if (!self) return;
    if (status != REDIS_OK) {
        // hiredis frees a context whose connect failed.
        if (self->cmd_ == ac) self->cmd_ = nullptr;
        self->reset("connect failed");
        return;
    }
    self->connected();
}

void RedisLink::connected() {
    // Never free the command context here: hiredis still uses it after
    // this callback. If the SSUBSCRIBE cannot be sent, the connect watchdog
    // resets the link.
    if (++connected_ < 2 || !sub_) return;
    if (!send_sub({"SSUBSCRIBE", heartbeat_}))
        log::warn("redis: cannot send the heartbeat SSUBSCRIBE");
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int) {
    RedisLink* self = link_of(ac);
    if (!self) return;
    if (self->cmd_ == ac) self->cmd_ = nullptr;
    self->reset("connection closed");
}

void RedisLink::on_sub_poll(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<RedisLink*>(handle->data);
    if (!self || handle != self->sub_poll_) return;
    if (status < 0) {
        self->reset("subscriber connection failed");
        return;
    }
    if (!self->sub_connected_) {
        if (!(events & UV_WRITABLE)) return;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(self->sub_->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            self->reset("connect failed");
            return;
        }
        self->sub_connected_ = true;
        self->flush_sub();
        if (self->sub_) self->connected();
        return;
    }
    if (events & UV_READABLE) {
        redisContext* c = self->sub_;
        if (redisBufferRead(c) != REDIS_OK) {
            self->reset("connection closed");
            return;
        }
        // A handler may reset the link (and free `c`): stop reading then.
        while (self->sub_ == c) {
            void* reply = nullptr;
            if (redisGetReply(c, &reply) != REDIS_OK) {
                self->reset("protocol error");
                return;
            }
            if (!reply) break;
            self->sub_reply(static_cast<redisReply*>(reply));
            freeReplyObject(reply);
        }
    }
    if (self->sub_ && (events & UV_WRITABLE)) self->flush_sub();
}

bool RedisLink::send_sub(const std::vector<std::string>& args) {
    if (!sub_) return false;
    Argv a(args);
    if (redisAppendCommandArgv(sub_, a.argc(), a.argv.data(), a.lens.data()) != REDIS_OK)
        return false;
    if (args.size() == 2) replies_.sent(args[0] == "SSUBSCRIBE", args[1]);
    if (sub_connected_) flush_sub();
    return true;
}

void RedisLink::flush_sub() {
    int done = 0;
    if (redisBufferWrite(sub_, &done) != REDIS_OK) {
        reset("cannot write to Redis");
        return;
    }
    uv_poll_start(sub_poll_, UV_READABLE | (done ? 0 : UV_WRITABLE), on_sub_poll);
}

void RedisLink::sub_reply(redisReply* reply) {
    SubEvent ev;
    if (reply->type == REDIS_REPLY_ERROR) {
        ev = replies_.on_error(text_of(reply));
        if (ev.kind != SubEvent::Kind::kNone)
            log::warn("redis refused a subscription change",
                      {{"channel", ev.channel}, {"error", std::string(text_of(reply))}});
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 3 &&
               reply->element[0]->type == REDIS_REPLY_STRING &&
               reply->element[1]->type == REDIS_REPLY_STRING) {
        std::string_view payload;
        if (reply->element[2]->type == REDIS_REPLY_STRING) payload = text_of(reply->element[2]);
        ev = replies_.on_array(text_of(reply->element[0]), text_of(reply->element[1]), payload);
    }
    if (ev.kind == SubEvent::Kind::kNone) return;
    if (ev.channel == heartbeat_) {
        switch (ev.kind) {
            case SubEvent::Kind::kMessage:
                heartbeat_seen_ms_ = now_ms();
                break;
            case SubEvent::Kind::kSubscribed:
                heartbeat_seen_ms_ = now_ms();
                if (!up_) {
                    up_ = true;
                    backoff_ms_ = 100;
                    if (ever_up_) ws_metrics::add(ws_metrics::Counter::kRedisReconnects);
                    ever_up_ = true;
                    log::info("redis link up", {{"node", host_ + ":" + std::to_string(port_)}});
                    if (handlers_.on_up) handlers_.on_up();
                }
                break;
            default:  // its slot moved away, or the server refused it
                reset("the heartbeat channel is not served here");
                break;
        }
        return;
    }
    if (handlers_.on_pubsub) handlers_.on_pubsub(ev);
}

void RedisLink::on_command_reply(redisAsyncContext*, void* reply, void* privdata) {
    auto* fn = static_cast<ReplyFn*>(privdata);
    try {
        (*fn)(static_cast<redisReply*>(reply));
    } catch (const std::exception& e) {
        log::error("redis reply handler failed", {{"error", e.what()}});
    }
    delete fn;
}

void RedisLink::on_tick(uv_timer_t* t) {
    auto* self = static_cast<RedisLink*>(t->data);
    std::uint64_t now = self->now_ms();
    if (self->up_) {
        if (now - self->heartbeat_seen_ms_ > self->stall_ms_) {
            self->reset("redis did not answer the heartbeat");
            return;
        }
        self->command({"SPUBLISH", self->heartbeat_, "1"}, [](redisReply*) {});
    } else if ((self->sub_ || self->cmd_) && now - self->connect_started_ms_ > self->stall_ms_) {
        self->reset("connect timed out");
    }
}

bool RedisLink::subscribe(const std::string& channel) {
    return up_ && send_sub({"SSUBSCRIBE", channel});
}

bool RedisLink::unsubscribe(const std::string& channel) {
    return up_ && send_sub({"SUNSUBSCRIBE", channel});
}

bool RedisLink::command(const std::vector<std::string>& args, ReplyFn done) {
    if (!up_) return false;
    auto* fn = new ReplyFn(std::move(done));
    if (!send_argv(cmd_, on_command_reply, fn, args)) {
        delete fn;
        return false;
    }
    return true;
}

}  // namespace bazaar::ws

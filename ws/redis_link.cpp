#include "redis_link.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#include <hiredis/adapters/libuv.h>
#pragma GCC diagnostic pop

#include <algorithm>

#include "bazaar/events/ws_metrics.hpp"
#include "bazaar/log.hpp"

namespace bazaar::ws {

namespace {
RedisLink* link_of(const redisAsyncContext* ac) {
    return static_cast<RedisLink*>(ac->data);
}

bool send_argv(redisAsyncContext* ac, redisCallbackFn* fn, void* privdata,
               const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    return redisAsyncCommandArgv(ac, fn, privdata, static_cast<int>(argv.size()), argv.data(),
                                 lens.data()) == REDIS_OK;
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
    if (stopped_) return;
    stopped_ = true;
    up_ = false;
    uv_timer_stop(&tick_);
    uv_timer_stop(&retry_);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&retry_), nullptr);
    if (sub_) {
        auto* c = sub_;
        sub_ = nullptr;
        c->data = nullptr;
        redisAsyncFree(c);
    }
    if (cmd_) {
        auto* c = cmd_;
        cmd_ = nullptr;
        c->data = nullptr;
        redisAsyncFree(c);
    }
}

void RedisLink::connect() {
    if (stopped_ || sub_ || cmd_) return;
    connected_ = 0;
    connect_started_ms_ = now_ms();
    for (redisAsyncContext** slot : {&sub_, &cmd_}) {
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
        *slot = ac;
    }
}

void RedisLink::reset(const char* why) {
    bool was_up = up_;
    up_ = false;
    // Free what is left; a context that is disconnecting right now is
    // freed by hiredis itself (its slot was cleared by the caller).
    for (redisAsyncContext** slot : {&sub_, &cmd_}) {
        if (auto* c = *slot) {
            *slot = nullptr;
            c->data = nullptr;
            redisAsyncFree(c);
        }
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
        if (self->sub_ == ac) self->sub_ = nullptr;
        if (self->cmd_ == ac) self->cmd_ = nullptr;
        self->reset("connect failed");
        return;
    }
    self->connected(ac);
}

void RedisLink::connected(const redisAsyncContext*) {
    // Never free a context here: hiredis still uses it after this callback.
    // If the SUBSCRIBE cannot be sent, the connect watchdog resets the link.
    if (++connected_ < 2 || !sub_) return;
    if (!send_argv(sub_, on_sub_reply, this, {"SUBSCRIBE", heartbeat_}))
        log::warn("redis: cannot send the heartbeat SUBSCRIBE");
}

void RedisLink::on_disconnect(const redisAsyncContext* ac, int) {
    RedisLink* self = link_of(ac);
    if (!self) return;
    if (self->sub_ == ac) self->sub_ = nullptr;
    if (self->cmd_ == ac) self->cmd_ = nullptr;
    self->reset("connection closed");
}

void RedisLink::on_sub_reply(redisAsyncContext* ac, void* r, void*) {
    RedisLink* self = link_of(ac);
    auto* reply = static_cast<redisReply*>(r);
    if (!self || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
    std::string_view kind(reply->element[0]->str ? reply->element[0]->str : "",
                          reply->element[0]->str ? reply->element[0]->len : 0);
    if (reply->element[1]->type != REDIS_REPLY_STRING) return;
    std::string_view channel(reply->element[1]->str, reply->element[1]->len);
    if (channel == self->heartbeat_) {
        self->heartbeat_seen_ms_ = self->now_ms();
        if (kind == "subscribe" && !self->up_) {
            self->up_ = true;
            self->backoff_ms_ = 100;
            if (self->ever_up_) ws_metrics::add(ws_metrics::Counter::kRedisReconnects);
            self->ever_up_ = true;
            log::info("redis link up");
            if (self->handlers_.on_up) self->handlers_.on_up();
        }
        return;
    }
    std::string_view payload;
    if (kind == "message" && reply->element[2]->type == REDIS_REPLY_STRING)
        payload = std::string_view(reply->element[2]->str, reply->element[2]->len);
    if (self->handlers_.on_pubsub) self->handlers_.on_pubsub(kind, channel, payload);
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
        self->command({"PUBLISH", self->heartbeat_, "1"}, [](redisReply*) {});
    } else if ((self->sub_ || self->cmd_) && now - self->connect_started_ms_ > self->stall_ms_) {
        self->reset("connect timed out");
    }
}

bool RedisLink::subscribe(const std::string& channel) {
    return up_ && send_argv(sub_, on_sub_reply, this, {"SUBSCRIBE", channel});
}

bool RedisLink::unsubscribe(const std::string& channel) {
    return up_ && send_argv(sub_, on_sub_reply, this, {"UNSUBSCRIBE", channel});
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

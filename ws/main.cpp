// bazaar-ws: the WebSocket endpoint behind nginx's /ws (API.md section 6).
// The design is in server.hpp (libwebsockets), hub.hpp (rooms and Redis
// fan-out), session.hpp (per-socket queue and resume) and redis_link.hpp.
#include <signal.h>
#include <uv.h>

#include "bazaar/process.hpp"
#include "server.hpp"

int main() {
    bazaar::Config config = bazaar::start_process("bazaar-ws");
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t* loop = uv_default_loop();
    int rc = bazaar::ws::run_server(config, loop);
    uv_loop_close(loop);
    return rc;
}

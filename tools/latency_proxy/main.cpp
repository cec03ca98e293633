// bazaar-latency-proxy: relays TCP routes with a fixed one-way delay in each
// direction (latency_proxy.hpp). A test tool of scripts/netns, never part of
// a deployment.
//
//   bazaar-latency-proxy [--delay-ms D] [--linger-ms L] LISTEN_IP:PORT=TARGET_IP:PORT...
//
// D may be fractional (0.25 = 250 us; 0 relays without delay). Runs until
// SIGTERM or SIGINT.
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "latency_proxy.hpp"

namespace {

latency_proxy::Proxy* g_proxy = nullptr;

extern "C" void on_signal(int) {
    if (g_proxy) g_proxy->stop();
}

int usage() {
    std::fprintf(stderr,
                 "usage: bazaar-latency-proxy [--delay-ms D] [--linger-ms L] "
                 "LISTEN_IP:PORT=TARGET_IP:PORT...\n");
    return 2;
}

bool parse_number(const char* text, double& out) {
    char* end = nullptr;
    out = std::strtod(text, &end);
    return end != text && *end == '\0' && out >= 0 && out <= 600000;
}

}  // namespace

int main(int argc, char** argv) {
    latency_proxy::Options opts;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        double v = 0;
        if ((arg == "--delay-ms" || arg == "--linger-ms") && i + 1 < argc) {
            if (!parse_number(argv[++i], v)) return usage();
            if (arg == "--delay-ms")
                opts.delay = std::chrono::microseconds(static_cast<long long>(v * 1000));
            else
                opts.linger = std::chrono::milliseconds(static_cast<long long>(v));
        } else if (auto route = latency_proxy::parse_route(arg)) {
            opts.routes.push_back(*route);
        } else {
            std::fprintf(stderr, "bazaar-latency-proxy: bad argument '%s'\n", arg.c_str());
            return usage();
        }
    }
    if (opts.routes.empty()) return usage();
    // Many relayed connections: two descriptors each.
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    signal(SIGPIPE, SIG_IGN);
    latency_proxy::Proxy proxy(opts);
    if (!proxy.open()) {
        std::fprintf(stderr, "bazaar-latency-proxy: %s\n", proxy.error().c_str());
        return 1;
    }
    g_proxy = &proxy;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::fprintf(stderr, "bazaar-latency-proxy: %zu route(s), %.3f ms each way\n",
                 opts.routes.size(), static_cast<double>(opts.delay.count()) / 1000.0);
    int rc = proxy.run();
    g_proxy = nullptr;
    if (rc != 0) std::fprintf(stderr, "bazaar-latency-proxy: %s\n", proxy.error().c_str());
    return rc;
}

// Start-up shared by every bazaar binary, and what a process does when it
// dies. Design:
//   - SIGPIPE is ignored: hiredis and libpq write with write()/send() without
//     MSG_NOSIGNAL, so a write to a socket that Redis or Postgres has just
//     closed (a restart) would otherwise kill the process without a word.
//     Every such write now fails with EPIPE, which the client libraries
//     report as a broken connection (-> 503 and a reconnect).
//   - A crash leaves a last JSON log line: std::terminate (an exception that
//     escaped a thread) logs the exception's message, and the fatal signals
//     (SEGV, BUS, ILL, FPE, ABRT) log their name from a handler that only
//     uses async-signal-safe calls on a line prepared at start-up. Then the
//     default action runs (core dump, exit status), so supervisors see the
//     real cause. The previous handler (ASan's, under the sanitizer build) is
//     put back before re-raising, so its report still comes.
#include "bazaar/process.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "bazaar/log.hpp"
#include "bazaar/replication.hpp"

namespace bazaar {

namespace {

constexpr std::array<int, 5> kFatalSignals = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
struct sigaction g_previous[NSIG];

// "{"level":"error","proc":"<name>","pid":<pid>,"msg":"fatal signal","signal":"" — the
// signal name and the closing `"}\n` are appended in the handler.
char g_fatal_prefix[256];
std::size_t g_fatal_prefix_len = 0;

const char* signal_name(int sig) {
    switch (sig) {
        case SIGSEGV:
            return "SIGSEGV";
        case SIGBUS:
            return "SIGBUS";
        case SIGILL:
            return "SIGILL";
        case SIGFPE:
            return "SIGFPE";
        case SIGABRT:
            return "SIGABRT";
    }
    return "?";
}

void on_fatal_signal(int sig) {
    const char* name = signal_name(sig);
    const char suffix[] = "\"}\n";
    ssize_t ignored = ::write(STDERR_FILENO, g_fatal_prefix, g_fatal_prefix_len);
    ignored = ::write(STDERR_FILENO, name, strlen(name));
    ignored = ::write(STDERR_FILENO, suffix, sizeof suffix - 1);
    (void)ignored;
    // Back to the previous disposition (default, or a sanitizer's), and let
    // it act: a fault re-triggers when this handler returns, a sent signal
    // is delivered again by raise().
    sigaction(sig, &g_previous[sig], nullptr);
    raise(sig);
}

void on_terminate() {
    std::string what = "terminate called without an active exception";
    if (auto e = std::current_exception()) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            what = ex.what();
        } catch (...) {
            what = "a non-standard exception";
        }
    }
    log::error("fatal: uncaught exception, aborting", {{"error", what}});
    // SIGABRT's handler would log a second line; one is enough.
    signal(SIGABRT, SIG_DFL);
    std::abort();
}

void install_crash_handlers(const char* process_name) {
    std::snprintf(g_fatal_prefix, sizeof g_fatal_prefix,
                  "{\"level\":\"error\",\"proc\":\"%s\",\"pid\":%d,\"msg\":\"fatal signal\","
                  "\"signal\":\"",
                  process_name, static_cast<int>(getpid()));
    g_fatal_prefix_len = strlen(g_fatal_prefix);
    for (int sig : kFatalSignals) {
        struct sigaction sa {};
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_NODEFER;
        sigaction(sig, &sa, &g_previous[sig]);
    }
    std::set_terminate(on_terminate);
}

}  // namespace

Config start_process(const char* process_name) {
    signal(SIGPIPE, SIG_IGN);
    Config config;
    try {
        config = Config::load();
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s: %s\n", process_name, e.what());
        std::exit(2);
    }
    log::init(process_name, log::parse_level(config.log_level));
    install_crash_handlers(process_name);
    replication::configure(config);
    return config;
}

}  // namespace bazaar

// WebSocket counters of the bazaar-ws processes, readable by /metrics.
//
// /metrics is served by bazaar-fcgi, but the numbers live in the bazaar-ws
// processes. Each ws process maps its own small file
// `$BAZAAR_VAR_DIR/run/ws-<port>.metrics` (one writer, relaxed atomic words,
// no lock, no syscall per update) and /metrics reads every such file at
// scrape time, labelled by process. A file whose writer is gone (its pid no
// longer runs) is skipped, so a crashed process does not report stale
// connections. Chosen over a Redis hash because it keeps working (and keeps
// counting reconnects) while Redis is down.
#pragma once

#include <cstdint>
#include <string>

namespace bazaar::ws_metrics {

enum class Counter : int {
    kConnections = 0,      // gauge: open sockets
    kConnectionsTotal,     // accepted handshakes
    kRefusedUnauthorized,  // 401 at handshake
    kRefusedOrigin,        // 403 at handshake
    kMessagesIn,           // complete client messages
    kMessagesOut,          // frames written to sockets
    kDropped,              // frames never written: queued for a socket closed as slow reader
    kSlowReaderCloses,     // sockets closed with 1013
    kOversizeCloses,       // sockets closed with 1009
    kErrorsSent,           // {"type":"error"} frames
    kResumes,              // resume requests replayed
    kResumeFailures,       // resume_failed frames
    kRedisReconnects,      // Redis links re-established
    kCount,                // keep last
};

// Maps `path` for writing (truncating an older file) and stamps this pid.
// Throws std::runtime_error on failure.
void open_writer(const std::string& path);
void add(Counter c, std::int64_t delta = 1);
std::uint64_t value(Counter c);

// Prometheus text for every live `ws-*.metrics` file under `run_dir`.
std::string render(const std::string& run_dir);

}  // namespace bazaar::ws_metrics

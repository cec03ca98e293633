#include "bazaar/metrics.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace bazaar::metrics {

namespace {

constexpr std::uint64_t kMagic = 0x42415a4d45545231ULL;  // "BAZMETR1"
constexpr int kStatuses[] = {200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404,
                             405, 409, 413, 415, 422, 429, 500, 502, 503, 504};
constexpr std::size_t kStatusSlots = sizeof kStatuses / sizeof kStatuses[0] + 1;  // + other
constexpr std::size_t kCounters = static_cast<std::size_t>(Counter::kCount);
const char* const kCounterNames[kCounters] = {"bazaar_cache_hits_total",
                                              "bazaar_cache_misses_total",
                                              "bazaar_cache_bypass_total",
                                              "bazaar_rate_limited_total",
                                              "bazaar_cache_near_hits_total",
                                              "bazaar_redis_wait_short_total",
                                              "bazaar_outbox_outage_retries_total",
                                              "bazaar_outbox_set_aside_total",
                                              "bazaar_sweep_item_failures_total",
                                              "bazaar_payment_mismatches_total",
                                              "bazaar_refund_failures_total",
                                              "bazaar_cart_flush_writes_total",
                                              "bazaar_cart_flush_handed_to_jobs_total"};
const char* const kCounterHelp[kCounters] = {
    "Cache lookups answered from Redis", "Cache lookups that went to Postgres",
    "Reads served from Postgres because Redis was down", "Requests refused by a rate limit",
    "Cache lookups answered from this process's near cache (no Redis round trip)",
    "Must-survive Redis writes acknowledged before REDIS_WAIT_REPLICAS replicas had them",
    // (parenthesised: clang's -Wstring-concatenation takes two adjacent
    // literals in an array for a missing comma)
    ("Outbox relay runs that found Redis or Postgres unavailable or refusing and backed off "
     "(the rows wait; no attempt of theirs is counted)"),
    "Outbox rows (jobs and live events) set aside for a fault of their own",
    "Items of a worker sweep (an overdue order) skipped after an error of their own",
    ("Payment events whose amount, currency or order did not match their order (refunded; "
     "alert on any)"),
    "Refunds the payment provider failed (orders now REFUND_FAILED; alert on any)",
    "Carts written to Postgres by the write-behind flusher (bazaar/cart/cart_flush.hpp)",
    "Carts Postgres refused on their own, handed to a cart-persist job (retried, then "
    "dead-lettered)"};

// The file of bazaar-worker's counters, beside the fcgi file: see open_worker().
constexpr const char* kWorkerFile = "metrics-worker.shm";

struct Header {
    std::uint64_t magic;
    std::uint64_t layout_hash;
    std::uint64_t routes;
};

// Where each part lives in a file for a given route table.
struct Layout {
    std::size_t requests_off = 0, buckets_off = 0, sum_off = 0, counters_off = 0, words = 0;
    std::uint64_t hash = 0;
};

Layout layout_for(const std::vector<std::string>& routes) {
    Layout l;
    std::size_t nb = latency_buckets().size() + 1;
    l.requests_off = 3;  // the header's words
    l.buckets_off = l.requests_off + routes.size() * kStatusSlots;
    l.sum_off = l.buckets_off + routes.size() * nb;
    l.counters_off = l.sum_off + routes.size();
    l.words = l.counters_off + kCounters;
    std::string names;
    for (const auto& r : routes) names += r + "\n";
    for (auto* n : kCounterNames) names += std::string(n) + "\n";
    l.hash = std::hash<std::string>{}(names) ^ (l.words * 8);
    return l;
}

struct State : Layout {
    std::vector<std::string> routes;
    std::atomic<std::uint64_t>* base = nullptr;
    std::string worker_path;  // set in fcgi processes: the worker file to add at render
};
State g;

std::size_t status_slot(int status) {
    for (std::size_t i = 0; i + 1 < kStatusSlots; ++i)
        if (kStatuses[i] == status) return i;
    return kStatusSlots - 1;
}

std::atomic<std::uint64_t>& word(std::size_t i) {
    return g.base[i];
}

// "run/metrics.shm" → "run/metrics.<layout hash>.shm".
std::string versioned_path(const std::string& path, std::uint64_t hash) {
    char tag[20];
    std::snprintf(tag, sizeof tag, "%016llx", static_cast<unsigned long long>(hash));
    auto slash = path.rfind('/');
    auto dot = path.rfind('.');
    if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
        return path + "." + tag;
    return path.substr(0, dot) + "." + tag + path.substr(dot);
}

std::string escape_label(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace

const std::vector<double>& latency_buckets() {
    static const std::vector<double> b = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                          0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
    return b;
}

void open(const std::string& path, const std::vector<std::string>& route_names) {
    static_assert(sizeof(std::atomic<std::uint64_t>) == 8);
    g.routes = route_names;
    static_cast<Layout&>(g) = layout_for(g.routes);
    std::size_t bytes = g.words * 8;
    std::uint64_t hash = g.hash;
    g.worker_path.clear();
    if (!path.empty() && !route_names.empty()) {
        auto slash = path.rfind('/');
        g.worker_path =
            (slash == std::string::npos ? std::string() : path.substr(0, slash + 1)) + kWorkerFile;
    }

    void* mem = nullptr;
    if (path.empty()) {
        mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED) throw std::runtime_error("metrics: mmap failed");
        std::memset(mem, 0, bytes);
    } else {
        // One file per layout: a process with another route table (a new
        // binary during a rolling restart) must never resize the file that
        // an older process still maps, or that one dies of SIGBUS.
        std::string file = versioned_path(path, hash);
        int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) throw std::runtime_error("metrics: cannot open " + file);
        flock(fd, LOCK_EX);  // one process initialises; the others wait and map
        Header h{};
        bool fresh = pread(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h) ||
                     h.magic != kMagic || h.layout_hash != hash;
        struct stat st {};
        if (fstat(fd, &st) != 0 ||
            (static_cast<std::size_t>(st.st_size) < bytes &&
             ftruncate(fd, static_cast<off_t>(bytes)) != 0)) {  // only ever grows, from empty
            close(fd);
            throw std::runtime_error("metrics: cannot size " + file);
        }
        mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (mem == MAP_FAILED) {
            close(fd);
            throw std::runtime_error("metrics: mmap failed");
        }
        if (fresh) {
            // A file that was created but never initialised (its creator died
            // between the two steps) holds only zeros or our own layout.
            std::memset(static_cast<char*>(mem) + sizeof(Header), 0, bytes - sizeof(Header));
            Header nh{kMagic, hash, g.routes.size()};
            std::memcpy(mem, &nh, sizeof nh);
        }
        flock(fd, LOCK_UN);
        close(fd);
    }
    g.base = static_cast<std::atomic<std::uint64_t>*>(mem);
}

void open_worker(const std::string& run_dir) {
    open(run_dir + "/" + kWorkerFile, {});
}

namespace {

// The named counters of the worker file next to ours (zeros when no worker
// has made it yet). Mapped read-only for the one scrape.
std::vector<std::uint64_t> worker_counters() {
    std::vector<std::uint64_t> out(kCounters, 0);
    if (g.worker_path.empty()) return out;
    Layout l = layout_for({});
    int fd = ::open(versioned_path(g.worker_path, l.hash).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    struct stat st {};
    if (fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < l.words * 8) {
        close(fd);
        return out;
    }
    void* mem = mmap(nullptr, l.words * 8, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (mem == MAP_FAILED) return out;
    const auto* w = static_cast<const std::atomic<std::uint64_t>*>(mem);
    Header h{};
    std::memcpy(&h, mem, sizeof h);
    if (h.magic == kMagic && h.layout_hash == l.hash)
        for (std::size_t c = 0; c < kCounters; ++c)
            out[c] = w[l.counters_off + c].load(std::memory_order_relaxed);
    munmap(mem, l.words * 8);
    return out;
}

}  // namespace

void observe_request(std::size_t route, int status, double seconds) {
    if (!g.base || route >= g.routes.size()) return;
    word(g.requests_off + route * kStatusSlots + status_slot(status))
        .fetch_add(1, std::memory_order_relaxed);
    const auto& b = latency_buckets();
    std::size_t i = 0;
    while (i < b.size() && seconds > b[i]) ++i;
    word(g.buckets_off + route * (b.size() + 1) + i).fetch_add(1, std::memory_order_relaxed);
    word(g.sum_off + route)
        .fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void inc(Counter c, std::uint64_t n) {
    if (!g.base) return;
    word(g.counters_off + static_cast<std::size_t>(c)).fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t counter_value(Counter c) {
    if (!g.base) return 0;
    return word(g.counters_off + static_cast<std::size_t>(c)).load(std::memory_order_relaxed);
}

std::uint64_t request_count(std::size_t route, int status) {
    if (!g.base || route >= g.routes.size()) return 0;
    return word(g.requests_off + route * kStatusSlots + status_slot(status)).load();
}

std::string render() {
    std::string out;
    if (!g.base) return out;
    out +=
        "# HELP bazaar_http_requests_total HTTP requests served, by route template and status.\n";
    out += "# TYPE bazaar_http_requests_total counter\n";
    for (std::size_t r = 0; r < g.routes.size(); ++r) {
        for (std::size_t s = 0; s < kStatusSlots; ++s) {
            std::uint64_t v = word(g.requests_off + r * kStatusSlots + s).load();
            if (!v) continue;
            std::string status = s + 1 < kStatusSlots ? std::to_string(kStatuses[s]) : "other";
            out += "bazaar_http_requests_total{route=\"" + escape_label(g.routes[r]) +
                   "\",status=\"" + status + "\"} " + std::to_string(v) + "\n";
        }
    }
    const auto& b = latency_buckets();
    out +=
        "# HELP bazaar_http_request_duration_seconds Time from request parsed to response "
        "written.\n";
    out += "# TYPE bazaar_http_request_duration_seconds histogram\n";
    for (std::size_t r = 0; r < g.routes.size(); ++r) {
        std::uint64_t cumulative = 0;
        std::string label = "route=\"" + escape_label(g.routes[r]) + "\"";
        for (std::size_t i = 0; i <= b.size(); ++i) {
            cumulative += word(g.buckets_off + r * (b.size() + 1) + i).load();
            char le[32];
            if (i < b.size())
                std::snprintf(le, sizeof le, "%g", b[i]);
            else
                std::snprintf(le, sizeof le, "+Inf");
            if (cumulative || i == b.size())
                out += "bazaar_http_request_duration_seconds_bucket{" + label + ",le=\"" + le +
                       "\"} " + std::to_string(cumulative) + "\n";
        }
        char sum[64];
        std::snprintf(sum, sizeof sum, "%.6f", word(g.sum_off + r).load() / 1e6);
        out += "bazaar_http_request_duration_seconds_sum{" + label + "} " + sum + "\n";
        out += "bazaar_http_request_duration_seconds_count{" + label + "} " +
               std::to_string(cumulative) + "\n";
    }
    // Each counter is the sum over every fcgi process (this file) and every
    // bazaar-worker (theirs): the relay and the sweeps count in the worker.
    auto worker = worker_counters();
    for (std::size_t c = 0; c < kCounters; ++c) {
        out += std::string("# HELP ") + kCounterNames[c] + " " + kCounterHelp[c] + ".\n";
        out += std::string("# TYPE ") + kCounterNames[c] + " counter\n";
        out += std::string(kCounterNames[c]) + " " +
               std::to_string(word(g.counters_off + c).load() + worker[c]) + "\n";
    }
    return out;
}

}  // namespace bazaar::metrics

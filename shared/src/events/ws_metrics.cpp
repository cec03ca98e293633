#include "bazaar/events/ws_metrics.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <vector>

namespace bazaar::ws_metrics {

namespace {

constexpr std::uint64_t kMagic = 0x42415a5753303031ULL;  // "BAZWS001"
constexpr std::size_t kCounters = static_cast<std::size_t>(Counter::kCount);
constexpr std::size_t kHeaderWords = 3;  // magic, pid, counter count
constexpr std::size_t kBytes = (kHeaderWords + kCounters) * 8;

struct Desc {
    const char* name;
    const char* type;
    const char* help;
};
const Desc kDesc[kCounters] = {
    {"bazaar_ws_connections", "gauge", "Open WebSocket connections"},
    {"bazaar_ws_connections_total", "counter", "WebSocket handshakes accepted"},
    {"bazaar_ws_refused_unauthorized_total", "counter", "Handshakes refused with 401"},
    {"bazaar_ws_refused_origin_total", "counter", "Handshakes refused with 403 (Origin)"},
    {"bazaar_ws_messages_in_total", "counter", "Messages received from clients"},
    {"bazaar_ws_messages_out_total", "counter", "Frames written to clients"},
    {"bazaar_ws_dropped_total", "counter",
     "Frames never written because their socket was closed as a slow reader"},
    {"bazaar_ws_slow_reader_closes_total", "counter",
     "Sockets closed with 1013 because their outgoing queue was full"},
    {"bazaar_ws_oversize_closes_total", "counter", "Sockets closed with 1009 (message too big)"},
    {"bazaar_ws_errors_sent_total", "counter", "Error frames sent for malformed messages"},
    {"bazaar_ws_resumes_total", "counter", "Resume requests replayed from the event stream"},
    {"bazaar_ws_resume_failures_total", "counter", "Resume requests answered with resume_failed"},
    {"bazaar_ws_redis_reconnects_total", "counter", "Redis links re-established"},
};

std::atomic<std::uint64_t>* g_words = nullptr;

std::atomic<std::uint64_t>* map_file(int fd, int prot) {
    void* mem = mmap(nullptr, kBytes, prot, MAP_SHARED, fd, 0);
    return mem == MAP_FAILED ? nullptr : static_cast<std::atomic<std::uint64_t>*>(mem);
}

}  // namespace

void open_writer(const std::string& path) {
    static_assert(sizeof(std::atomic<std::uint64_t>) == 8);
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("ws metrics: cannot open " + path);
    if (ftruncate(fd, 0) != 0 || ftruncate(fd, static_cast<off_t>(kBytes)) != 0) {
        close(fd);
        throw std::runtime_error("ws metrics: cannot size " + path);
    }
    g_words = map_file(fd, PROT_READ | PROT_WRITE);
    close(fd);
    if (!g_words) throw std::runtime_error("ws metrics: mmap failed");
    g_words[1].store(static_cast<std::uint64_t>(getpid()));
    g_words[2].store(kCounters);
    g_words[0].store(kMagic);
}

void add(Counter c, std::int64_t delta) {
    if (!g_words) return;
    g_words[kHeaderWords + static_cast<std::size_t>(c)].fetch_add(static_cast<std::uint64_t>(delta),
                                                                  std::memory_order_relaxed);
}

std::uint64_t value(Counter c) {
    if (!g_words) return 0;
    return g_words[kHeaderWords + static_cast<std::size_t>(c)].load(std::memory_order_relaxed);
}

std::string render(const std::string& run_dir) {
    struct Process {
        std::string name;
        std::uint64_t values[kCounters];
    };
    std::vector<Process> found;
    if (DIR* dir = opendir(run_dir.c_str())) {
        while (dirent* e = readdir(dir)) {
            std::string file = e->d_name;
            const std::string suffix = ".metrics";
            if (file.rfind("ws-", 0) != 0 || file.size() <= suffix.size() + 3 ||
                file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
                continue;
            int fd = ::open((run_dir + "/" + file).c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            bool big_enough = lseek(fd, 0, SEEK_END) >= static_cast<off_t>(kBytes);
            auto* words = big_enough ? map_file(fd, PROT_READ) : nullptr;
            close(fd);
            if (!words) continue;
            auto pid = static_cast<pid_t>(words[1].load());
            bool alive = pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
            if (words[0].load() == kMagic && words[2].load() == kCounters && alive) {
                Process p{file.substr(0, file.size() - suffix.size()), {}};
                for (std::size_t i = 0; i < kCounters; ++i)
                    p.values[i] = words[kHeaderWords + i].load(std::memory_order_relaxed);
                found.push_back(p);
            }
            munmap(words, kBytes);
        }
        closedir(dir);
    }
    std::string out;
    for (std::size_t i = 0; i < kCounters; ++i) {
        out += std::string("# HELP ") + kDesc[i].name + " " + kDesc[i].help + ".\n";
        out += std::string("# TYPE ") + kDesc[i].name + " " + kDesc[i].type + "\n";
        for (const auto& p : found)
            out += std::string(kDesc[i].name) + "{process=\"" + p.name + "\"} " +
                   std::to_string(p.values[i]) + "\n";
    }
    return out;
}

}  // namespace bazaar::ws_metrics

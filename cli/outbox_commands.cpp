// `bazaar outbox failed [--limit N]` and
// `bazaar outbox redrive --id N | --all [--queue Q]`:
// the operator's side of outbox rows the relay set aside (a job the queue
// kept refusing, a row that is not a job), over the same functions as
// GET /api/v1/admin/outbox/failed and POST /api/v1/admin/outbox/.../redrive.
// A re-driven row has its attempts and failed_at cleared; the relay takes it
// again at once (NOTIFY).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "bazaar/pg.hpp"
#include "bazaar/queue/outbox_relay.hpp"
#include "commands.hpp"

namespace bazaar::cli {

namespace {

constexpr const char* kUsage =
    "outbox failed [--limit N] | redrive --id N | redrive --all [--queue Q]";

std::int64_t positive(const std::string& v, const char* what) {
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n < 1)
        throw std::runtime_error(std::string(what) + " must be a positive integer, not '" + v +
                                 "'");
    return n;
}

int failed(Pg& pg, const std::vector<std::string>& args) {
    std::int64_t limit = 20;
    if (args.size() == 3 && args[1] == "--limit")
        limit = positive(args[2], "--limit");
    else if (args.size() != 1)
        throw std::runtime_error(std::string("usage: bazaar ") + kUsage);
    auto f = queue::failed_outbox_rows(pg, static_cast<int>(std::min<std::int64_t>(limit, 1000)));
    std::printf("%lld rows set aside\n", static_cast<long long>(f.total));
    for (const auto& r : f.rows)
        std::printf("%lld %s attempts=%d failed=%s error=%s\n", static_cast<long long>(r.id),
                    r.topic.c_str(), r.attempts, r.failed_at.c_str(), r.error.c_str());
    return 0;
}

int redrive(Pg& pg, const std::vector<std::string>& args) {
    std::optional<std::int64_t> id;
    std::optional<std::string> queue;
    if (args.size() == 3 && args[1] == "--id")
        id = positive(args[2], "--id");
    else if (args.size() == 4 && args[1] == "--all" && args[2] == "--queue")
        queue = args[3];
    else if (!(args.size() == 2 && args[1] == "--all"))
        throw std::runtime_error(std::string("usage: bazaar ") + kUsage);
    auto r = queue::redrive_outbox(pg, id, queue);
    std::printf("%zu outbox rows re-driven", r.ids.size());
    for (std::size_t i = 0; i < r.ids.size(); ++i)
        std::printf("%s%lld", i == 0 ? ": " : " ", static_cast<long long>(r.ids[i]));
    std::printf("\n");
    return 0;
}

int run(const Config& cfg, const std::vector<std::string>& args) {
    Pg pg(cfg.pg_conninfo(), cfg.pg_timeout_ms);
    std::string sub = args.empty() ? "" : args[0];
    if (sub == "failed") return failed(pg, args);
    if (sub == "redrive") return redrive(pg, args);
    throw std::runtime_error(std::string("usage: bazaar ") + kUsage);
}

const Registration kOutbox{{"outbox", kUsage, run}};

}  // namespace

}  // namespace bazaar::cli

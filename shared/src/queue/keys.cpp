#include "bazaar/queue/keys.hpp"

#include "bazaar/error.hpp"

namespace bazaar::queue {

QueueKeys::QueueKeys(std::string_view queue)
    : name(queue), prefix("{q:" + std::string(queue) + "}:") {
    seq = prefix + "seq";
    wait = prefix + "wait";
    delayed = prefix + "delayed";
    active = prefix + "active";
    completed = prefix + "completed";
    failed = prefix + "failed";
    waitdeps = prefix + "waitdeps";
    dlq = prefix + "dlq";
    marker = prefix + "marker";
    meta = prefix + "meta";
    rate = prefix + "rate";
    limiter = prefix + "limiter";
    repeat = prefix + "repeat";
}

bool is_valid_queue_name(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        if (!ok) return false;
    }
    return true;
}

void validate_queue_name(std::string_view name) {
    if (!is_valid_queue_name(name))
        throw Error::validation("queue", "must be 1 to 64 characters of a-z, 0-9, '_', '.', '-'");
}

}  // namespace bazaar::queue

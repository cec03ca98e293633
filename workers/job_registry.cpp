#include "job_registry.hpp"

#include <set>

namespace bazaar::worker {

JobRegistry& JobRegistry::global() {
    static JobRegistry r;
    return r;
}

void JobRegistry::add_queue(std::string queue, QueueOptions options) {
    handlers_[queue];
    options_[std::move(queue)] = options;
}

void JobRegistry::add_handler(std::string queue, std::string name, JobHandler handler) {
    handlers_[std::move(queue)][std::move(name)] = std::move(handler);
}

void JobRegistry::add_repeatable(Repeatable r) {
    repeatables_.push_back(std::move(r));
}

const JobHandler* JobRegistry::find(std::string_view queue, std::string_view name) const {
    auto q = handlers_.find(queue);
    if (q == handlers_.end()) return nullptr;
    if (auto h = q->second.find(name); h != q->second.end()) return &h->second;
    if (auto h = q->second.find("*"); h != q->second.end()) return &h->second;
    return nullptr;
}

std::vector<std::string> JobRegistry::queues() const {
    std::vector<std::string> out;
    for (const auto& [name, handlers] : handlers_)
        if (!handlers.empty()) out.push_back(name);
    return out;
}

QueueOptions JobRegistry::options(std::string_view queue) const {
    auto it = options_.find(queue);
    return it == options_.end() ? QueueOptions{} : it->second;
}

}  // namespace bazaar::worker

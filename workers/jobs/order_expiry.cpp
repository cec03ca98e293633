// Queue "order-expiry": the delayed job that checkout writes to the outbox
// (jobId "expire:<orderId>", due at expiresAt). It moves a still unpaid order
// to EXPIRED and releases its stock (orders::expire: under the order's row
// lock, and a no-op for any other status), so a job that runs twice, or
// races a cancel, a payment or another worker's sweep, has one effect.
#include "../job_registry.hpp"
#include "bazaar/orders/order_service.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

void expire(JobContext& job) {
    const auto& data = job.data();
    auto it = data.find("orderId");
    if (!data.is_object() || it == data.end() || !it->is_string())
        throw PermanentFailure("data.orderId must be an order id string");
    bool done = orders::expire(job.backends(), it->get<std::string>());
    job.set_result({{"expired", done}});
}

const QueueRegistration kOrderExpiryQueue{orders::kExpiryQueue, {.concurrency = 2}};
const JobRegistration kExpire{orders::kExpiryQueue, orders::kExpiryJob, expire};

}  // namespace

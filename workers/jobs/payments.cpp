// Queues "fulfillment" and "refunds": the work a payment leaves behind
// (payments/payment_service.hpp). Both are enqueued through the outbox in the
// transaction that moved the order (job ids "fulfill:<orderId>",
// "refund:<orderId>"), and both are idempotent: a rerun finds the order
// already moved and does nothing, and a refund reruns with the same
// provider idempotency key.
#include "../job_registry.hpp"
#include "bazaar/payments/payment_service.hpp"
#include "bazaar/uuid.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

std::string order_id_of(JobContext& job) {
    auto it = job.data().find("orderId");
    if (it == job.data().end() || !it->is_string() || !is_canonical_uuid(it->get<std::string>()))
        throw PermanentFailure("job data lacks a canonical 'orderId'");
    return it->get<std::string>();
}

void fulfill(JobContext& job) {
    std::string id = order_id_of(job);
    payments::fulfill(job.backends(), id);
    job.set_result({{"orderId", id}});
}

void refund(JobContext& job) {
    std::string id = order_id_of(job);
    Backends& b = job.backends();
    try {
        payments::refund(b, payments::thread_provider(b.config), id);
    } catch (const payments::ProviderError& e) {
        if (!e.retryable()) throw PermanentFailure(e.what());
        throw;
    }
    job.set_result({{"orderId", id}});
}

void refund_event(JobContext& job) {
    auto it = job.data().find("eventId");
    if (it == job.data().end() || !it->is_string())
        throw PermanentFailure("job data lacks an 'eventId'");
    std::string id = it->get<std::string>();
    Backends& b = job.backends();
    try {
        payments::refund_event(b, payments::thread_provider(b.config), id);
    } catch (const payments::ProviderError& e) {
        if (!e.retryable()) throw PermanentFailure(e.what());
        throw;
    }
    job.set_result({{"eventId", id}});
}

const QueueRegistration kFulfillmentQueue{payments::kFulfillmentQueue, {.concurrency = 2}};
const JobRegistration kFulfill{payments::kFulfillmentQueue, payments::kFulfillJob, fulfill};
const QueueRegistration kRefundQueue{payments::kRefundQueue, {.concurrency = 1}};
const JobRegistration kRefund{payments::kRefundQueue, payments::kRefundJob, refund};
const JobRegistration kRefundEvent{payments::kRefundQueue, payments::kRefundEventJob, refund_event};

}  // namespace

// Queue "order-cart": the clear of the cart an order consumed (job
// "clear-cart", id "clear-cart:<orderId>", data {userId, version}), written
// to the outbox in the order's own transaction. The request clears the cart
// right after commit; this job does it should that process die first (or
// Redis refuse the clear). Clearing only while the cart is still `version`
// makes it a no-op after the request's clear, or once the customer changed
// the cart again, and safe to run twice.
#include "../job_registry.hpp"
#include "bazaar/cart/cart_service.hpp"
#include "bazaar/orders/order_service.hpp"
#include "bazaar/uuid.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

void clear_cart(JobContext& job) {
    const auto& data = job.data();
    auto user = data.find("userId");
    auto version = data.find("version");
    if (!data.is_object() || user == data.end() || !user->is_string() ||
        !is_canonical_uuid(user->get<std::string>()) || version == data.end() ||
        !version->is_number_integer())
        throw PermanentFailure("data must be {userId: canonical uuid, version: integer}");
    bool cleared = cart::clear_if_version(job.backends(), user->get<std::string>(),
                                          version->get<std::int64_t>());
    job.set_result({{"cleared", cleared}});
}

const QueueRegistration kOrderCartQueue{orders::kCartClearQueue, {.concurrency = 1}};
const JobRegistration kClearCart{orders::kCartClearQueue, orders::kCartClearJob, clear_cart};

}  // namespace

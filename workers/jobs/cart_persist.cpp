// Queue "cart-persist": writes a user's live Redis cart to Postgres (the
// durable copy, API.md §4). Jobs carry only {userId}; the snapshot is read
// when the job runs, so one job covers every change made before it started
// (coalescing and convergence rules in bazaar/cart/cart_service.hpp).
// A user that no longer exists (foreign key) can never succeed: that fails
// for good and lands in the dead-letter list with its reason; anything else
// (Postgres or Redis down) is retried with backoff.
#include "../job_registry.hpp"
#include "bazaar/cart/cart_service.hpp"
#include "bazaar/json_input.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

void persist(JobContext& job) {
    const auto& data = job.data();
    auto it = data.find("userId");
    if (!data.is_object() || it == data.end() || !it->is_string() ||
        it->get_ref<const std::string&>().empty())
        throw PermanentFailure("data.userId must be a user id string");
    std::string user = it->get<std::string>();
    try {
        auto outcome = cart::persist(job.backends(), user);
        job.set_result({{"outcome", cart::outcome_name(outcome)}});
    } catch (const pqxx::foreign_key_violation&) {
        throw PermanentFailure("user " + user + " does not exist");
    } catch (const pqxx::data_exception& e) {
        throw PermanentFailure(std::string("bad cart data: ") + e.what());
    }
}

const QueueRegistration kCartPersistQueue{cart::kPersistQueue, {.concurrency = 4}};
const JobRegistration kPersist{cart::kPersistQueue, cart::kPersistJob, persist};

}  // namespace

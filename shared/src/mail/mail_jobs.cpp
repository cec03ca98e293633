#include "bazaar/mail/mail_jobs.hpp"

#include <stdexcept>

#include "bazaar/queue/producer.hpp"
#include "bazaar/uuid.hpp"

namespace bazaar::mail {

namespace {
queue::JobOptions retrying(int priority) {
    queue::JobOptions o;
    o.priority = priority;
    o.attempts = kAttempts;
    o.backoff.type = queue::Backoff::Type::kExponential;
    o.backoff.delay_ms = kBackoffMs;
    return o;
}
}  // namespace

void enqueue_welcome(Redis& redis, const users::User& user) {
    queue::NewJob job;
    job.name = "welcome";
    job.data = {{"to", user.email}, {"username", user.username}, {"userId", user.id}};
    job.options = retrying(kPriorityWelcome);
    job.options.job_id = "welcome:" + user.id;
    job.options.remove_on_complete.age_s = 7 * 86400;
    queue::add(redis, kQueue, job);
}

void enqueue_password_reset(Redis& redis, const std::string& email) {
    queue::NewJob job;
    job.name = "password_reset";
    job.data = {{"email", email}};
    job.options = retrying(kPriorityPasswordReset);
    // An address is personal data: keep finished jobs a day for operators.
    job.options.remove_on_complete.age_s = 86400;
    job.options.remove_on_fail.age_s = 7 * 86400;
    queue::add(redis, kQueue, job);
}

const char* order_mail_template(OrderMail kind) {
    switch (kind) {
        case OrderMail::kConfirmation:
            return "order_confirmation";
        case OrderMail::kShipped:
            return "order_shipped";
        case OrderMail::kExpired:
            return "order_expired";
        case OrderMail::kRefunded:
            return "order_refunded";
    }
    return "order_confirmation";
}

void enqueue_order_mail(pqxx::transaction_base& tx, OrderMail kind, const std::string& order_id) {
    // The id becomes part of the jobId: one spelling per order, or the dedupe fails.
    auto id = canonical_uuid(order_id);
    if (!id) throw std::invalid_argument("enqueue_order_mail: order id is not a UUID");
    queue::NewJob job;
    job.name = order_mail_template(kind);
    job.data = {{"orderId", *id}};
    job.options = retrying(kPriorityOrder);
    job.options.job_id = "mail:" + job.name + ":" + *id;
    job.options.remove_on_complete.age_s = 7 * 86400;
    queue::add_in_transaction(tx, kQueue, job);
}

}  // namespace bazaar::mail

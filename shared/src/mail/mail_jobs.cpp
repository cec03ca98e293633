#include "bazaar/mail/mail_jobs.hpp"

#include "bazaar/queue/producer.hpp"

namespace bazaar::mail {

void enqueue_welcome(Redis& redis, const users::User& user) {
    queue::NewJob job;
    job.name = "welcome";
    job.data = {{"to", user.email}, {"username", user.username}, {"userId", user.id}};
    job.options.priority = kPriorityWelcome;
    job.options.job_id = "welcome:" + user.id;
    job.options.attempts = 5;
    job.options.remove_on_complete.age_s = 7 * 86400;
    queue::add(redis, kQueue, job);
}

void enqueue_password_reset(Redis& redis, const std::string& email) {
    queue::NewJob job;
    job.name = "password_reset";
    job.data = {{"email", email}};
    job.options.priority = kPriorityPasswordReset;
    job.options.attempts = 5;
    job.options.backoff.delay_ms = 500;
    // An address is personal data: keep finished jobs a day for operators.
    job.options.remove_on_complete.age_s = 86400;
    job.options.remove_on_fail.age_s = 7 * 86400;
    queue::add(redis, kQueue, job);
}

}  // namespace bazaar::mail

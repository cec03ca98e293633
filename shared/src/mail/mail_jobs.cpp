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

void enqueue_password_reset(Redis& redis, const users::User& user, const std::string& token,
                            int ttl_s) {
    queue::NewJob job;
    job.name = "password_reset";
    job.data = {{"to", user.email},
                {"username", user.username},
                {"userId", user.id},
                {"token", token},
                {"ttlS", ttl_s}};
    job.options.priority = kPriorityPasswordReset;
    job.options.attempts = 5;
    job.options.backoff.delay_ms = 500;
    // The data holds a live token: drop the finished job soon, keep failures
    // (a dead letter an operator must see) only as long as the token lives.
    // The job data holds a live reset token: keep no completed copy.
    job.options.remove_on_complete.count = 0;
    job.options.remove_on_fail.age_s = ttl_s;
    queue::add(redis, kQueue, job);
}

}  // namespace bazaar::mail

// Queue "email": renders a template (shared/src/mail) and delivers it, for
// now as an .eml file under var/mail/. The file is named by the job id, so a
// job that runs twice (at-least-once delivery) rewrites the same message.
//
// password_reset jobs carry the address only (mail_jobs.hpp): the job looks
// the user up and issues the one-time token here, so the token lives in the
// message and nowhere else (not in the job data admins can read, not in the
// AOF). An unknown address completes quietly: the API answered 202 anyway.
// A re-run issues another token and rewrites the same file; both tokens stay
// valid until one is confirmed, which invalidates every one.
#include <filesystem>

#include "../job_registry.hpp"
#include "bazaar/auth/password_reset.hpp"
#include "bazaar/log.hpp"
#include "bazaar/mail/mail.hpp"
#include "bazaar/mail/mail_jobs.hpp"
#include "bazaar/users/user_service.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

mail::Settings settings(const Config& c) {
    return mail::Settings{c.mail_from, c.public_base_url, c.var_dir + "/mail"};
}

void deliver(JobContext& job, const std::string& template_name, const nlohmann::json& data) {
    mail::Settings s = settings(job.backends().config);
    mail::Message m;
    try {
        m = mail::render(template_name, data, s);
    } catch (const std::invalid_argument& e) {
        throw PermanentFailure(e.what());  // bad data never gets better
    }
    m.message_id = job.id() + "@bookbazar";
    std::string path = mail::deliver(m, s, job.name() + "-" + job.id());
    // The path, never the body: a reset email carries a live token.
    log::info("email delivered", {{"template", template_name}, {"file", path}});
    job.set_result({{"file", std::filesystem::path(path).filename().string()}});
}

void send(JobContext& job) {
    deliver(job, job.name(), job.data());
}

void send_password_reset(JobContext& job) {
    auto it = job.data().find("email");
    if (it == job.data().end() || !it->is_string())
        throw PermanentFailure("password_reset job data lacks 'email'");
    Backends& b = job.backends();
    std::string email = it->get<std::string>();
    auto user = b.pg.transact([&](pqxx::work& w) { return users::find_by_email(w, email); });
    if (!user) {
        job.set_result({{"sent", false}});
        return;
    }
    int ttl_s = b.config.password_reset_ttl_s;
    std::string token = auth::issue_password_reset_token(b.redis, user->id, ttl_s);
    deliver(job, "password_reset",
            {{"to", user->email}, {"username", user->username}, {"token", token}, {"ttlS", ttl_s}});
}

const QueueRegistration kEmailQueue{mail::kQueue, {.concurrency = 2}};
const JobRegistration kWelcome{mail::kQueue, "welcome", send};
const JobRegistration kPasswordReset{mail::kQueue, "password_reset", send_password_reset};

}  // namespace

// Queue "email": renders a template (shared/src/mail) and delivers it, for
// now as an .eml file under var/mail/. The file is named by the job id, so a
// job that runs twice (at-least-once delivery) rewrites the same message.
#include <filesystem>

#include "../job_registry.hpp"
#include "bazaar/log.hpp"
#include "bazaar/mail/mail.hpp"
#include "bazaar/mail/mail_jobs.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

void send(JobContext& job) {
    const Config& c = job.backends().config;
    mail::Settings s{c.mail_from, c.public_base_url, c.var_dir + "/mail"};
    mail::Message m;
    try {
        m = mail::render(job.name(), job.data(), s);
    } catch (const std::invalid_argument& e) {
        throw PermanentFailure(e.what());  // bad data never gets better
    }
    m.message_id = job.id() + "@bookbazar";
    std::string path = mail::deliver(m, s, job.name() + "-" + job.id());
    // The path, never the body: a reset email carries a live token.
    log::info("email delivered", {{"template", job.name()}, {"file", path}});
    job.set_result({{"file", std::filesystem::path(path).filename().string()}});
}

const QueueRegistration kEmailQueue{mail::kQueue, {.concurrency = 2}};
const JobRegistration kWelcome{mail::kQueue, "welcome", send};
const JobRegistration kPasswordReset{mail::kQueue, "password_reset", send};

}  // namespace

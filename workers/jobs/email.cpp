// Queue "email": renders a template (shared/src/mail) and sends it over SMTP
// to SMTP_URL (the local sink of scripts/stack by default, which stores it
// under var/mail/). Each message carries `X-Bazaar-Job: <job id>` and a
// Message-ID made from the job id, so a job that runs twice (at-least-once
// delivery) sends a recognisable duplicate, never a different message.
//
// Failures: bad data or an address the server rejects for good (5xx) fail the
// job at once (PermanentFailure); a server that is down, frozen (the session
// timeout SMTP_TIMEOUT_MS) or answering 4xx fails the attempt, and the queue
// retries it with exponential backoff (mail_jobs.hpp). The queue starts at
// most mail::kRatePerSecond jobs per second across all workers, which is the
// sending rate a provider sees.
//
// password_reset jobs carry the address only (mail_jobs.hpp): the job looks
// the user up and issues the one-time token here, so the token lives in the
// message and nowhere else (not in the job data admins can read, not in the
// AOF). An unknown address completes quietly: the API answered 202 anyway.
// A re-run issues another token; both stay valid until one is confirmed,
// which invalidates every one.
//
// Order jobs carry {"orderId"} only; the order, its items and the buyer are
// read from Postgres here.
#include "../job_registry.hpp"
#include "bazaar/auth/password_reset.hpp"
#include "bazaar/log.hpp"
#include "bazaar/mail/mail.hpp"
#include "bazaar/mail/mail_jobs.hpp"
#include "bazaar/mail/order_view.hpp"
#include "bazaar/mail/smtp.hpp"
#include "bazaar/users/user_service.hpp"

namespace {

using namespace bazaar;
using namespace bazaar::worker;

mail::Settings settings(const Config& c) {
    return mail::Settings{c.mail_from, c.public_base_url};
}

void send_message(JobContext& job, mail::Message m) {
    const Config& c = job.backends().config;
    m.message_id = mail::message_id_for(job.name() + "." + job.id(), settings(c));
    m.extra_headers.emplace_back("X-Bazaar-Job", job.id());
    std::string data;
    try {
        data = mail::to_mime(m);
    } catch (const std::invalid_argument& e) {
        throw PermanentFailure(e.what());
    }
    mail::SmtpSettings smtp{c.smtp_url, std::min(10000, c.smtp_timeout_ms), c.smtp_timeout_ms};
    try {
        mail::smtp_send(smtp, m.from.address, m.to.address, data);
    } catch (const mail::SmtpError& e) {
        if (e.permanent()) throw PermanentFailure(e.what());
        throw;
    } catch (const std::invalid_argument& e) {
        throw PermanentFailure(e.what());
    }
    // The template and id, never the body: a reset email carries a live token.
    log::info("email sent", {{"template", job.name()}, {"messageId", m.message_id}});
    job.set_result({{"messageId", m.message_id}});
}

template <typename F>
mail::Message rendered(F&& render) {
    try {
        return render();
    } catch (const std::invalid_argument& e) {
        throw PermanentFailure(e.what());  // bad data never gets better
    }
}

void send_welcome(JobContext& job) {
    auto s = settings(job.backends().config);
    send_message(job, rendered([&] { return mail::render("welcome", job.data(), s); }));
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
    auto s = settings(b.config);
    // Render before issuing: a message that cannot be built spends no token.
    nlohmann::json data{
        {"to", user->email}, {"username", user->username}, {"token", "-"}, {"ttlS", ttl_s}};
    rendered([&] { return mail::render("password_reset", data, s); });
    data["token"] = auth::issue_password_reset_token(b.redis, user->id, ttl_s);
    send_message(job, rendered([&] { return mail::render("password_reset", data, s); }));
}

void send_order_mail(JobContext& job) {
    auto it = job.data().find("orderId");
    if (it == job.data().end() || !it->is_string())
        throw PermanentFailure(job.name() + " job data lacks 'orderId'");
    Backends& b = job.backends();
    std::string id = it->get<std::string>();
    auto order = b.pg.transact([&](pqxx::work& w) { return mail::load_order_view(w, id); });
    if (!order) throw PermanentFailure("no order " + id);
    auto s = settings(b.config);
    send_message(job, rendered([&] { return mail::render_order(job.name(), *order, s); }));
}

const QueueRegistration kEmailQueue{
    mail::kQueue,
    {.concurrency = 2, .rate_limit = {.max = mail::kRatePerSecond, .duration_ms = 1000}}};
const JobRegistration kWelcome{mail::kQueue, "welcome", send_welcome};
const JobRegistration kPasswordReset{mail::kQueue, "password_reset", send_password_reset};
const JobRegistration kConfirmation{
    mail::kQueue, mail::order_mail_template(mail::OrderMail::kConfirmation), send_order_mail};
const JobRegistration kShipped{mail::kQueue, mail::order_mail_template(mail::OrderMail::kShipped),
                               send_order_mail};
const JobRegistration kExpired{mail::kQueue, mail::order_mail_template(mail::OrderMail::kExpired),
                               send_order_mail};
const JobRegistration kRefunded{mail::kQueue, mail::order_mail_template(mail::OrderMail::kRefunded),
                                send_order_mail};

}  // namespace

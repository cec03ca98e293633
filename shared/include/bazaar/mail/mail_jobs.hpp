// The producer side of email: API handlers and services enqueue a job on the
// "email" queue; the worker's email job (workers/jobs/email.cpp) renders it
// (mail.hpp) and sends it over SMTP (smtp.hpp).
//
// Password resets run before welcomes and order mail (priority). A reset job
// carries the address only: the token is issued by the job itself when it
// renders the message (auth/password_reset.hpp), so no job data can reset a
// password. Order jobs carry the order id only: the job reads the order, its
// items and the buyer from Postgres when it renders, so the email shows the
// order as it is then and no personal data sits in Redis.
//
// Every job has several attempts with exponential backoff (an SMTP server
// that is down or frozen delays mail, it does not lose it), and the queue
// starts at most kRatePerSecond email jobs per second across all workers.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>

#include "bazaar/redis.hpp"
#include "bazaar/users/user_service.hpp"

namespace bazaar::mail {

inline constexpr const char* kQueue = "email";
inline constexpr int kPriorityPasswordReset = 1;  // lower runs first
inline constexpr int kPriorityOrder = 5;
inline constexpr int kPriorityWelcome = 10;
inline constexpr int kAttempts = 10;  // backoff 1 s doubling: ~17 min in all
inline constexpr std::int64_t kBackoffMs = 1000;
inline constexpr int kRatePerSecond = 20;

// jobId "welcome:<userId>": a retried sign-up never sends two welcomes.
void enqueue_welcome(Redis& redis, const users::User& user);
// Data {"email": <normalised address>}, known or not: the job looks it up.
void enqueue_password_reset(Redis& redis, const std::string& email);

enum class OrderMail { kConfirmation, kShipped, kExpired, kRefunded };

// "order_confirmation", "order_shipped", "order_expired", "order_refunded":
// the job name and the template.
const char* order_mail_template(OrderMail kind);

// Enqueues an order email inside the caller's Postgres transaction (the
// outbox, queue::add_in_transaction): the job exists if and only if `tx`
// commits, and the worker's relay moves it into the "email" queue. Call it in
// the same transaction that moves the order:
//
//   pg.transact([&](pqxx::work& tx) {
//       ... UPDATE orders SET status = 'PAID' ... ;
//       mail::enqueue_order_mail(tx, mail::OrderMail::kConfirmation, order_id);
//   });
//
// The job's data is {"orderId": order_id}; its jobId is
// "mail:<template>:<orderId>", so a transition that is retried (a webhook
// delivered twice, a relay that runs a row twice) sends the email once.
// `order_id` must be the order's UUID (std::invalid_argument otherwise);
// nothing is read here, the job reads the order when it renders. Throws what
// pqxx throws (the caller's transaction fails with it).
void enqueue_order_mail(pqxx::transaction_base& tx, OrderMail kind, const std::string& order_id);

}  // namespace bazaar::mail

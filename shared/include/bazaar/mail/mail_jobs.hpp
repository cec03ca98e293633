// The producer side of email: API handlers and services enqueue a job on the
// "email" queue; the worker's email job renders it (mail.hpp) and delivers.
// Password resets run before welcomes (priority). A reset job carries the
// address only: the token is issued by the job itself when it renders the
// message (auth/password_reset.hpp), so no job data can reset a password.
#pragma once

#include <string>

#include "bazaar/redis.hpp"
#include "bazaar/users/user_service.hpp"

namespace bazaar::mail {

inline constexpr const char* kQueue = "email";
inline constexpr int kPriorityPasswordReset = 1;  // lower runs first
inline constexpr int kPriorityWelcome = 10;

// jobId "welcome:<userId>": a retried sign-up never sends two welcomes.
void enqueue_welcome(Redis& redis, const users::User& user);
// Data {"email": <normalised address>}, known or not: the job looks it up.
void enqueue_password_reset(Redis& redis, const std::string& email);

}  // namespace bazaar::mail

// The producer side of email: API handlers and services enqueue a job on the
// "email" queue; the worker's email job renders it (mail.hpp) and delivers.
// Password resets run before welcomes (priority), and each job keeps its data
// only briefly after completion, since a reset job carries a live token.
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
void enqueue_password_reset(Redis& redis, const users::User& user, const std::string& token,
                            int ttl_s);

}  // namespace bazaar::mail

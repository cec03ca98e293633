// Validation of new jobs and their JSON form, with the option names of
// API.md §7 (attempts, backoff{type,delayMs}, priority, delayMs, jobId,
// removeOnComplete/removeOnFail{ageS,count}, timeoutMs, dependsOn). The JSON
// form travels through the outbox and the admin/pipeline routes; the C++
// structs are in producer.hpp.
#pragma once

#include <nlohmann/json.hpp>

#include "bazaar/queue/producer.hpp"

namespace bazaar::queue {

inline constexpr int kMaxPriority = 2097151;  // 2^21 - 1: keeps wait scores exact doubles
inline constexpr int kMaxAttempts = 1000;

// Throws Error(kValidationFailed) naming the offending field, e.g.
// "backoff.delayMs" or "jobId".
void validate_job(const NewJob& job);

nlohmann::json options_to_json(const JobOptions& o);
// Unknown fields and wrong types are validation errors (field "options.<name>").
JobOptions options_from_json(const nlohmann::json& j);

// {"name","data","options"} <-> NewJob.
nlohmann::json job_to_json(const NewJob& job);
NewJob job_from_json(const nlohmann::json& j);

}  // namespace bazaar::queue

#include "bazaar/queue/job_json.hpp"

#include <algorithm>

#include "bazaar/error.hpp"

namespace bazaar::queue {

namespace {

constexpr std::int64_t kMaxDelayMs = 366LL * 24 * 3600 * 1000;
constexpr std::int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;

void check_keep(const KeepPolicy& k, const std::string& field) {
    if (k.age_s && *k.age_s < 0) throw Error::validation(field + ".ageS", "must be >= 0");
    if (k.count && *k.count < 0) throw Error::validation(field + ".count", "must be >= 0");
}

void check_id(const std::string& id, const std::string& field) {
    if (id.empty() || id.size() > 200)
        throw Error::validation(field, "must be 1 to 200 characters");
    if (std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw Error::validation(field, "must not be an integer (generated ids are)");
    for (char c : id) {
        if (c == ',' || static_cast<unsigned char>(c) < 0x20)
            throw Error::validation(field, "must not contain commas or control characters");
    }
}

std::int64_t get_int(const nlohmann::json& j, const std::string& field) {
    if (!j.is_number_integer()) throw Error::validation(field, "must be an integer");
    return j.get<std::int64_t>();
}

KeepPolicy keep_from_json(const nlohmann::json& j, const std::string& field) {
    KeepPolicy k;
    if (j.is_boolean()) {
        // BullMQ's shorthand: true = remove at once, false = keep.
        if (j.get<bool>()) k.count = 0;
        return k;
    }
    if (!j.is_object()) throw Error::validation(field, "must be an object {ageS, count}");
    for (const auto& [key, v] : j.items()) {
        if (key == "ageS")
            k.age_s = get_int(v, field + ".ageS");
        else if (key == "count")
            k.count = get_int(v, field + ".count");
        else
            throw Error::validation(field + "." + key, "unknown field");
    }
    return k;
}

nlohmann::json keep_to_json(const KeepPolicy& k) {
    auto j = nlohmann::json::object();
    if (k.age_s) j["ageS"] = *k.age_s;
    if (k.count) j["count"] = *k.count;
    return j;
}

}  // namespace

void validate_job(const NewJob& job) {
    if (job.name.empty() || job.name.size() > 128)
        throw Error::validation("name", "must be 1 to 128 characters");
    const auto& o = job.options;
    if (o.attempts < 1 || o.attempts > kMaxAttempts)
        throw Error::validation("attempts", "must be between 1 and 1000");
    if (o.backoff.delay_ms < 0 || o.backoff.delay_ms > kMaxDelayMs)
        throw Error::validation("backoff.delayMs", "must be between 0 and one year");
    if (o.priority < 0 || o.priority > kMaxPriority)
        throw Error::validation("priority", "must be between 0 and 2097151");
    if (o.delay_ms < 0 || o.delay_ms > kMaxDelayMs)
        throw Error::validation("delayMs", "must be between 0 and one year");
    if (!o.job_id.empty()) check_id(o.job_id, "jobId");
    check_keep(o.remove_on_complete, "removeOnComplete");
    check_keep(o.remove_on_fail, "removeOnFail");
    // A day, like QUEUE_JOB_TIMEOUT_MS: a longer job cannot be told from a hung one.
    if (o.timeout_ms < 0 || o.timeout_ms > kMaxTimeoutMs)
        throw Error::validation("timeoutMs", "must be between 0 (the default) and 86400000");
    if (o.depends_on.size() > 1000) throw Error::validation("dependsOn", "at most 1000 ids");
    for (const auto& d : o.depends_on) {
        if (d.empty() || d.size() > 200 || d.find(',') != std::string::npos)
            throw Error::validation("dependsOn", "ids are 1 to 200 characters without commas");
    }
}

nlohmann::json options_to_json(const JobOptions& o) {
    nlohmann::json j = {
        {"attempts", o.attempts},
        {"backoff",
         {{"type", o.backoff.type == Backoff::Type::kFixed ? "fixed" : "exponential"},
          {"delayMs", o.backoff.delay_ms}}},
        {"priority", o.priority},
        {"delayMs", o.delay_ms},
        {"removeOnComplete", keep_to_json(o.remove_on_complete)},
        {"removeOnFail", keep_to_json(o.remove_on_fail)},
        {"timeoutMs", o.timeout_ms},
        {"dependsOn", o.depends_on},
    };
    if (!o.job_id.empty()) j["jobId"] = o.job_id;
    return j;
}

JobOptions options_from_json(const nlohmann::json& j) {
    JobOptions o;
    if (j.is_null()) return o;
    if (!j.is_object()) throw Error::validation("options", "must be an object");
    for (const auto& [key, v] : j.items()) {
        const std::string field = "options." + key;
        if (key == "attempts") {
            o.attempts = static_cast<int>(get_int(v, field));
        } else if (key == "backoff") {
            if (!v.is_object()) throw Error::validation(field, "must be {type, delayMs}");
            for (const auto& [bk, bv] : v.items()) {
                if (bk == "type") {
                    if (bv == "fixed")
                        o.backoff.type = Backoff::Type::kFixed;
                    else if (bv == "exponential")
                        o.backoff.type = Backoff::Type::kExponential;
                    else
                        throw Error::validation(field + ".type", "must be fixed or exponential");
                } else if (bk == "delayMs") {
                    o.backoff.delay_ms = get_int(bv, field + ".delayMs");
                } else {
                    throw Error::validation(field + "." + bk, "unknown field");
                }
            }
        } else if (key == "priority") {
            o.priority = static_cast<int>(get_int(v, field));
        } else if (key == "delayMs") {
            o.delay_ms = get_int(v, field);
        } else if (key == "jobId") {
            if (!v.is_string()) throw Error::validation(field, "must be a string");
            o.job_id = v.get<std::string>();
        } else if (key == "removeOnComplete") {
            o.remove_on_complete = keep_from_json(v, field);
        } else if (key == "removeOnFail") {
            o.remove_on_fail = keep_from_json(v, field);
        } else if (key == "timeoutMs") {
            o.timeout_ms = get_int(v, field);
        } else if (key == "dependsOn") {
            if (!v.is_array()) throw Error::validation(field, "must be an array of job ids");
            for (const auto& d : v) {
                if (!d.is_string()) throw Error::validation(field, "must be an array of job ids");
                o.depends_on.push_back(d.get<std::string>());
            }
        } else {
            throw Error::validation(field, "unknown field");
        }
    }
    return o;
}

nlohmann::json job_to_json(const NewJob& job) {
    return {{"name", job.name}, {"data", job.data}, {"options", options_to_json(job.options)}};
}

NewJob job_from_json(const nlohmann::json& j) {
    if (!j.is_object()) throw Error::validation("job", "must be an object");
    NewJob job;
    for (const auto& [key, v] : j.items()) {
        if (key == "name") {
            if (!v.is_string()) throw Error::validation("name", "must be a string");
            job.name = v.get<std::string>();
        } else if (key == "data") {
            job.data = v;
        } else if (key == "options") {
            job.options = options_from_json(v);
        } else {
            throw Error::validation(key, "unknown field");
        }
    }
    validate_job(job);
    return job;
}

}  // namespace bazaar::queue

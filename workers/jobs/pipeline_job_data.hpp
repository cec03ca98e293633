// Reading the optional fields of a pipeline job's data: a wrong type or
// range can never succeed on a retry, so it fails the job for good
// (PermanentFailure) with a message naming the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "../job_registry.hpp"

namespace bazaar::worker::pipeline_data {

inline void require_object(const nlohmann::json& data) {
    if (!data.is_object() && !data.is_null()) throw PermanentFailure("job data must be an object");
}

inline std::int64_t integer_or(const nlohmann::json& data, const char* key, std::int64_t fallback,
                               std::int64_t min, std::int64_t max) {
    require_object(data);
    if (!data.is_object()) return fallback;
    auto it = data.find(key);
    if (it == data.end() || it->is_null()) return fallback;
    if (!it->is_number_integer() || it->get<std::int64_t>() < min || it->get<std::int64_t>() > max)
        throw PermanentFailure(std::string(key) + " must be an integer between " +
                               std::to_string(min) + " and " + std::to_string(max));
    return it->get<std::int64_t>();
}

inline std::string string_or(const nlohmann::json& data, const char* key, std::string fallback) {
    require_object(data);
    if (!data.is_object()) return fallback;
    auto it = data.find(key);
    if (it == data.end() || it->is_null()) return fallback;
    if (!it->is_string()) throw PermanentFailure(std::string(key) + " must be a string");
    return it->get<std::string>();
}

}  // namespace bazaar::worker::pipeline_data

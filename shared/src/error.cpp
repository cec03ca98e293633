#include "bazaar/error.hpp"

#include <nlohmann/json.hpp>

namespace bazaar {

namespace {
struct CodeInfo {
    const char* name;
    int status;
};

CodeInfo info(ErrorCode code) {
    switch (code) {
        case ErrorCode::kValidationFailed:
            return {"VALIDATION_FAILED", 400};
        case ErrorCode::kMalformedJson:
            return {"MALFORMED_JSON", 400};
        case ErrorCode::kUnauthenticated:
            return {"UNAUTHENTICATED", 401};
        case ErrorCode::kForbidden:
            return {"FORBIDDEN", 403};
        case ErrorCode::kNotFound:
            return {"NOT_FOUND", 404};
        case ErrorCode::kMethodNotAllowed:
            return {"METHOD_NOT_ALLOWED", 405};
        case ErrorCode::kConflict:
            return {"CONFLICT", 409};
        case ErrorCode::kOutOfStock:
            return {"OUT_OF_STOCK", 409};
        case ErrorCode::kInvalidTransition:
            return {"INVALID_TRANSITION", 409};
        case ErrorCode::kIdempotencyInProgress:
            return {"IDEMPOTENCY_IN_PROGRESS", 409};
        case ErrorCode::kIdempotencyKeyReused:
            return {"IDEMPOTENCY_KEY_REUSED", 422};
        case ErrorCode::kPayloadTooLarge:
            return {"PAYLOAD_TOO_LARGE", 413};
        case ErrorCode::kUnsupportedMediaType:
            return {"UNSUPPORTED_MEDIA_TYPE", 415};
        case ErrorCode::kRateLimited:
            return {"RATE_LIMITED", 429};
        case ErrorCode::kInternal:
            return {"INTERNAL", 500};
        case ErrorCode::kUnavailable:
            return {"UNAVAILABLE", 503};
        case ErrorCode::kOrderLimit:
            return {"ORDER_LIMIT", 409};
        case ErrorCode::kCartAlreadyOrdered:
            return {"CART_ALREADY_ORDERED", 409};
        case ErrorCode::kPriceChanged:
            return {"PRICE_CHANGED", 409};
        case ErrorCode::kAmountTooSmall:
            return {"AMOUNT_TOO_SMALL", 409};
    }
    return {"INTERNAL", 500};
}
}  // namespace

const char* error_code_name(ErrorCode code) {
    return info(code).name;
}
int error_http_status(ErrorCode code) {
    return info(code).status;
}

Error::Error(ErrorCode code, std::string message, std::vector<FieldIssue> details)
    : std::runtime_error(std::move(message)), code_(code), details_(std::move(details)) {}

Error& Error::with_header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
}

Error& Error::with_raw_details(std::string json_array) {
    raw_details_ = std::move(json_array);
    return *this;
}

std::string Error::body() const {
    nlohmann::json details = nlohmann::json::array();
    if (!raw_details_.empty()) {
        details = nlohmann::json::parse(raw_details_);
    } else {
        for (const auto& d : details_)
            details.push_back({{"field", d.field}, {"reason", d.reason}});
    }
    nlohmann::json j = {
        {"success", false},
        {"error", {{"code", error_code_name(code_)}, {"message", what()}, {"details", details}}}};
    // Messages may quote request text (a path, a field name): invalid UTF-8
    // in it must not turn an error response into an exception.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Error Error::validation(std::string field, std::string reason) {
    std::string msg = "invalid value for '" + field + "'";
    return Error(ErrorCode::kValidationFailed, std::move(msg),
                 {{std::move(field), std::move(reason)}});
}

Error Error::not_found(std::string what) {
    return Error(ErrorCode::kNotFound, std::move(what) + " not found");
}

Error Error::unavailable(std::string what) {
    // A dependency that is down or refusing is an outage, not the request's
    // fault: the client is told when to try again (API.md: 503 + Retry-After).
    return Error(ErrorCode::kUnavailable, std::move(what) + " is unavailable, try again shortly")
        .with_header("Retry-After", "1");
}

}  // namespace bazaar

// The one error type of Book Bazar. Every failure that reaches a client is an
// Error; the FastCGI front maps it once to the JSON shape of API.md section 0.
// Anything else that escapes a handler becomes a 500 INTERNAL whose message
// never carries SQL, paths or stack traces.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bazaar {

enum class ErrorCode {
    kValidationFailed,
    kMalformedJson,
    kUnauthenticated,
    kForbidden,
    kNotFound,
    kMethodNotAllowed,
    kConflict,
    kOutOfStock,
    kInvalidTransition,
    kIdempotencyInProgress,
    kIdempotencyKeyReused,
    kPayloadTooLarge,
    kUnsupportedMediaType,
    kRateLimited,
    kInternal,
    kUnavailable,
    // Checkout and payments (docs/orders-payments.md), all 409.
    kOrderLimit,          // ORDER_MAX_* per-user limits of unpaid orders
    kCartAlreadyOrdered,  // this cart version became an order already
    kPriceChanged,        // a price differs from the one the cart showed
    kAmountTooSmall,      // total below the payment provider's minimum
};

// "VALIDATION_FAILED", ... as written in API.md.
const char* error_code_name(ErrorCode code);
int error_http_status(ErrorCode code);

// One `details` item of a validation error: which field, and why.
struct FieldIssue {
    std::string field;
    std::string reason;
};

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, std::string message, std::vector<FieldIssue> details = {});

    ErrorCode code() const { return code_; }
    int http_status() const { return error_http_status(code_); }
    const std::vector<FieldIssue>& details() const { return details_; }
    // Extra response headers (Allow, Retry-After, ...).
    const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
    Error& with_header(std::string name, std::string value);
    // Free-form details (OUT_OF_STOCK lists {bookId, requested, available}).
    Error& with_raw_details(std::string json_array);
    const std::string& raw_details() const { return raw_details_; }

    // {"success":false,"error":{...}} serialised.
    std::string body() const;

    static Error validation(std::string field, std::string reason);
    static Error not_found(std::string what);
    static Error unavailable(std::string what);

private:
    ErrorCode code_;
    std::vector<FieldIssue> details_;
    std::vector<std::pair<std::string, std::string>> headers_;
    std::string raw_details_;
};

}  // namespace bazaar

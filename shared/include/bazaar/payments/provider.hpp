// Payment providers (API.md §5): what the order flow asks of whoever moves
// the money. Two implementations, chosen by PAYMENT_PROVIDER:
//   - test:   offline and instant; ids look like Stripe's (pi_test_<hex>,
//             re_test_<hex>). Outcomes are delivered by
//             POST /payments/test/complete, which signs a webhook.
//   - stripe: PaymentIntents and Refunds over HTTPS (libcurl, TLS verified
//             against the system CAs or STRIPE_CA_FILE), form-encoded as
//             Stripe's API expects, with an Idempotency-Key on every POST so
//             a retried call returns the first call's object.
// The provider only talks to the outside; order state lives in the payment
// service (payment_service.hpp), never here.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bazaar/config.hpp"

namespace bazaar::payments {

struct IntentRequest {
    std::string order_id;
    std::int64_t amount_cents = 0;
    std::string currency;  // ISO 4217, any case
    std::string idempotency_key;
};

struct Intent {
    std::string id;
    std::string client_secret;
};

struct RefundResult {
    std::string id;
    std::string status;  // "succeeded", "pending", ...
};

// A failed provider call. `retryable`: the network, a timeout, a 429 or a
// 5xx (try again later, same idempotency key); otherwise the provider refused
// the request (4xx) and repeating it will not help. `message` is for logs
// only: it may carry the provider's wording, never a key.
class ProviderError : public std::runtime_error {
  public:
    ProviderError(std::string message, bool retryable, int http_status = 0,
                  std::string provider_code = {})
        : std::runtime_error(std::move(message)),
          retryable_(retryable),
          http_status_(http_status),
          provider_code_(std::move(provider_code)) {}
    bool retryable() const { return retryable_; }
    int http_status() const { return http_status_; }
    // Stripe's error.code ("charge_already_refunded", ...), empty otherwise.
    const std::string& provider_code() const { return provider_code_; }

  private:
    bool retryable_;
    int http_status_;
    std::string provider_code_;
};

class Provider {
  public:
    virtual ~Provider() = default;
    // "test" | "stripe": stored on the order and returned by payments/init.
    virtual std::string_view name() const = 0;
    // Throws ProviderError.
    virtual Intent create_intent(const IntentRequest& request) = 0;
    // Refunds `amount_cents` of the intent's payment. Throws ProviderError.
    virtual RefundResult refund(std::string_view intent_id, std::int64_t amount_cents,
                                std::string_view idempotency_key) = 0;
};

// The provider PAYMENT_PROVIDER names. The stripe provider needs
// curl_global_init() to have run (global_init()).
std::unique_ptr<Provider> make_provider(const Config& config);
std::unique_ptr<Provider> make_test_provider();
std::unique_ptr<Provider> make_stripe_provider(const Config& config);

// curl_global_init, once per process, before threads start (idempotent).
void global_init();

}  // namespace bazaar::payments

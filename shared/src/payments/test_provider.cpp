// The offline provider of PAYMENT_PROVIDER=test: ids only, no money. Same
// shapes as Stripe so that the rest of the flow cannot tell the difference.
#include "bazaar/payments/provider.hpp"
#include "bazaar/time.hpp"

namespace bazaar::payments {

namespace {

class TestProvider final : public Provider {
  public:
    std::string_view name() const override { return "test"; }

    Intent create_intent(const IntentRequest& request) override {
        if (request.amount_cents <= 0)
            throw ProviderError("amount must be positive", false, 400, "amount_too_small");
        std::string id = "pi_test_" + random_hex(12);
        return {id, id + "_secret_" + random_hex(12)};
    }

    RefundResult refund(std::string_view intent_id, std::int64_t amount_cents,
                        std::string_view) override {
        if (intent_id.rfind("pi_test_", 0) != 0)
            throw ProviderError("unknown payment intent", false, 404, "resource_missing");
        if (amount_cents <= 0) throw ProviderError("amount must be positive", false, 400);
        return {"re_test_" + random_hex(12), "succeeded"};
    }
};

}  // namespace

std::unique_ptr<Provider> make_test_provider() {
    return std::make_unique<TestProvider>();
}

std::unique_ptr<Provider> make_provider(const Config& config) {
    if (config.payment_provider == "stripe") return make_stripe_provider(config);
    return make_test_provider();
}

}  // namespace bazaar::payments

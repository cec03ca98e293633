// Refund events from the provider (issue 18: a refund Stripe failed later
// left the order REFUNDED): what parse_webhook_event reads from them.
#include <gtest/gtest.h>

#include "bazaar/error.hpp"
#include "bazaar/payments/webhook_event.hpp"

using namespace bazaar;
using namespace bazaar::payments;

TEST(RefundEvents, ReadTheRefundItsStatusAndItsIntent) {
    for (const char* type : {"refund.updated", "refund.failed", "charge.refund.updated"}) {
        auto ev = parse_webhook_event(std::string(R"({"id":"evt_1","type":")") + type +
                                      R"(","data":{"object":{"id":"re_1","object":"refund",)"
                                      R"("amount":1250,"currency":"usd","payment_intent":"pi_1",)"
                                      R"("status":"failed","extra":{}}}})");
        EXPECT_TRUE(ev.is_refund()) << type;
        EXPECT_FALSE(ev.is_payment_intent());
        EXPECT_EQ(ev.refund_id, "re_1");
        EXPECT_EQ(ev.refund_status, "failed");
        EXPECT_EQ(ev.intent_id, "pi_1");
    }
}

TEST(RefundEvents, ANullIntentIsEmptyAMissingStatusIsRefused) {
    auto ev = parse_webhook_event(
        R"({"id":"evt_2","type":"refund.updated","data":{"object":{"id":"re_2","payment_intent":null,"status":"succeeded"}}})");
    EXPECT_EQ(ev.intent_id, "");
    EXPECT_EQ(ev.refund_status, "succeeded");
    try {
        parse_webhook_event(
            R"({"id":"evt_3","type":"refund.failed","data":{"object":{"id":"re_3"}}})");
        FAIL() << "no throw";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
        ASSERT_EQ(e.details().size(), 1u);
        EXPECT_EQ(e.details()[0].field, "data.object.status");
    }
}

TEST(RefundEvents, OtherTypesNeedOnlyIdAndType) {
    auto ev = parse_webhook_event(R"({"id":"evt_4","type":"charge.refunded"})");
    EXPECT_FALSE(ev.is_refund());
    EXPECT_EQ(ev.refund_id, "");
}

// The payment webhook's outside bytes (shared/src/payments/): the
// Stripe-Signature header and the Event body.
//
// Input: a header line, then the body.
// Properties: nothing but bazaar::Error escapes; a parsed header has a t and
// at least one v1; verify() says kOk with a secret exactly when one v1 is
// that secret's digest (at the header's own t); a header we sign verifies,
// and no longer does once one byte of the body changes; an event that
// parses has an id and a type, and intent events carry an upper-case code.
#include <fuzzer/FuzzedDataProvider.h>

#include "bazaar/payments/webhook_event.hpp"
#include "bazaar/payments/webhook_signature.hpp"
#include "fuzz_support.hpp"

using namespace bazaar;
using namespace bazaar::payments;
using bazaar::fuzz::hex;

namespace {
const std::vector<std::string> kSecrets = {"whsec_fuzz_new", "whsec_fuzz_old"};
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const std::string header = in.ConsumeRandomLengthString(600);
    const std::string body = in.ConsumeRemainingBytesAsString();

    auto parsed = parse_signature_header(header);
    auto result = verify_signature(header, body, kSecrets, 0, 300);
    if (parsed) {
        FUZZ_CHECK(!parsed->v1.empty() && parsed->timestamp >= 0, hex(header));
        bool expected = false;
        for (const auto& s : kSecrets)
            for (const auto& v : parsed->v1)
                if (v == compute_v1(s, parsed->timestamp, body)) expected = true;
        auto at_t = verify_signature(header, body, kSecrets, parsed->timestamp, 300);
        FUZZ_CHECK((at_t == SignatureResult::kOk) == expected, hex(header));
        FUZZ_CHECK(result != SignatureResult::kMalformed, hex(header));
    } else {
        FUZZ_CHECK(result == SignatureResult::kMalformed || result == SignatureResult::kMissing,
                   hex(header));
    }

    const std::int64_t t = 1700000000;
    const std::string mine = make_signature_header(kSecrets[1], t, body);
    FUZZ_CHECK(verify_signature(mine, body, kSecrets, t + 1, 300) == SignatureResult::kOk,
               hex(body));
    if (!body.empty()) {
        std::string tampered = body;
        tampered[tampered.size() / 2] ^= 0x01;
        FUZZ_CHECK(verify_signature(mine, tampered, kSecrets, t, 300) == SignatureResult::kNoMatch,
                   hex(body));
    }

    WebhookEvent ev;
    if (fuzz::accepts([&] { ev = parse_webhook_event(body); })) {
        FUZZ_CHECK(!ev.id.empty() && !ev.type.empty(), hex(body));
        if (ev.type == kIntentSucceeded || ev.type == kIntentFailed) {
            FUZZ_CHECK(!ev.intent_id.empty() && ev.amount >= 0 && ev.currency.size() == 3,
                       hex(body));
            for (char c : ev.currency) FUZZ_CHECK(c >= 'A' && c <= 'Z', hex(body));
        }
    }
    return 0;
}

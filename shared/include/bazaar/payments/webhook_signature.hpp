// The Stripe webhook signature scheme (API.md §5), verified before a single
// byte of the body is interpreted.
//
//   Stripe-Signature: t=1700000000,v1=5257a8...,v1=9c1f0e...,v0=...
//   v1 = hex(HMAC-SHA256(secret, "<t>.<raw body>"))
//
// The header is a comma-separated list of key=value items. `t` (exactly one,
// decimal) and at least one `v1` are required; other schemes (`v0`, future
// ones) are ignored, as Stripe's libraries do. Stripe sends one v1 per active
// endpoint secret while a secret is being rolled, and we accept several
// secrets of our own for the same reason (WEBHOOK_SECRET="new,old"): a
// request is authentic when any (v1, secret) pair matches. Every comparison
// is constant-time (CRYPTO_memcmp) over the full hex digest; the `t` check
// (|now - t| <= tolerance) runs after a match so that a forged header learns
// nothing about the clock.
//
// Must never: parse the body before verify() accepted it, or compare with
// memcmp/==.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::payments {

struct SignatureHeader {
    std::int64_t timestamp = 0;
    std::vector<std::string> v1;  // as sent (lower-case hex when well-formed)
};

// nullopt when the header is malformed: empty, longer than 4 KiB, more than
// 32 items, an item without '=', no `t` or several, `t` not a decimal of at
// most 12 digits, or no `v1`.
std::optional<SignatureHeader> parse_signature_header(std::string_view header);

enum class SignatureResult { kOk, kMissing, kMalformed, kNoMatch, kStale };
// "missing Stripe-Signature header", ... (the 400's message).
const char* describe(SignatureResult r);

// Checks `header` (nullopt: absent) against the raw `payload` with every one
// of `secrets`; `now_s` is the current Unix time.
SignatureResult verify_signature(std::optional<std::string_view> header, std::string_view payload,
                                 const std::vector<std::string>& secrets, std::int64_t now_s,
                                 std::int64_t tolerance_s);

// hex(HMAC-SHA256(secret, "<t>.<payload>")), 64 lower-case characters.
std::string compute_v1(std::string_view secret, std::int64_t t, std::string_view payload);
// "t=<t>,v1=<sig>" signed with `secret`: what the provider sends (used by
// payments/test/complete and by tests).
std::string make_signature_header(std::string_view secret, std::int64_t t,
                                  std::string_view payload);

// WEBHOOK_SECRET's value split at commas, blanks trimmed, empties dropped.
std::vector<std::string> parse_secret_list(std::string_view value);

}  // namespace bazaar::payments

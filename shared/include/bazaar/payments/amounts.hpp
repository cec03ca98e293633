// Amounts a payment provider can charge (issue 18: a free book's order made
// payments/init answer 500, and stored that 500 under the key).
//
// The rule, decided at checkout (orders::create_from_cart):
//   total 0                    nothing to pay: the order is PAID at once, in
//                              the order's own transaction (fulfilment and
//                              the confirmation mail follow as for any
//                              payment); payments/init then answers 409.
//   0 < total < minimum        refused: 409 AMOUNT_TOO_SMALL with details
//                              {totalCents, minimumCents, currency}; nothing
//                              is reserved, the cart is kept.
//   total >= minimum           PAYMENT_PENDING, as always.
// payments/init checks the same rule (an order older than it answers 409
// AMOUNT_TOO_SMALL, never reaches the provider, never 500).
//
// The minimum is Stripe's per currency (its "minimum charge amount" table,
// in the currency's smallest unit) and holds for the test provider too, so
// the offline stack behaves as production would. A currency Stripe does not
// list gets 50 units (Stripe's own 0.50 USD rule of thumb).
#pragma once

#include <cstdint>
#include <string_view>

namespace bazaar::payments {

std::int64_t minimum_charge(std::string_view currency);

}  // namespace bazaar::payments

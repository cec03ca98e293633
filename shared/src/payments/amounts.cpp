#include "bazaar/payments/amounts.hpp"

#include <array>
#include <utility>

namespace bazaar::payments {

namespace {
// Stripe's minimum charge amounts (docs.stripe.com/currencies), smallest
// currency unit. JPY and HUF are as Stripe counts them (¥50; HUF in
// hundredths, 175.00).
constexpr std::array<std::pair<std::string_view, std::int64_t>, 24> kMinimum = {{
    {"AED", 200},  {"AUD", 50},  {"BGN", 100},  {"BRL", 50},  {"CAD", 50},   {"CHF", 50},
    {"CZK", 1500}, {"DKK", 250}, {"EUR", 50},   {"GBP", 30},  {"HKD", 400},  {"HUF", 17500},
    {"INR", 50},   {"JPY", 50},  {"MXN", 1000}, {"MYR", 200}, {"NOK", 300},  {"NZD", 50},
    {"PLN", 200},  {"RON", 200}, {"SEK", 300},  {"SGD", 50},  {"THB", 1000}, {"USD", 50},
}};
}  // namespace

std::int64_t minimum_charge(std::string_view currency) {
    for (const auto& [code, min] : kMinimum)
        if (code == currency) return min;
    return 50;
}

}  // namespace bazaar::payments

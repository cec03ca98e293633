// Currencies a price may be in (API.md §0: "currency (ISO 4217)"): the
// active ISO 4217 codes of real money, from one list in currency.cpp.
// Fund codes, precious metals and the test/no-currency codes (XTS, XXX) are
// not prices and are refused, as is any other three letters ("ABC").
#pragma once

#include <string_view>

namespace bazaar::catalog {

bool is_iso4217_currency(std::string_view code);

}  // namespace bazaar::catalog

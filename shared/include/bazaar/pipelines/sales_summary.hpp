// The data.sales_summary pipeline job: per UTC day and currency, the sold
// orders (kSoldStatusesSql, counted on the day they were created), units,
// revenue (sum of their lines) and the ten best-selling books, in the
// table sales_daily (migration 0010).
//
// Idempotent per day: the days asked for are deleted and rewritten in one
// transaction, so a rerun (or a late payment that made an older order
// PAID, once that day is summarised again) leaves exactly one row per day
// and currency with the current figures; a day without sales has no row.
#pragma once

#include <string>

#include "bazaar/backends.hpp"

namespace bazaar::pipelines {

struct SalesSummaryOutcome {
    std::string from, to;  // YYYY-MM-DD, inclusive
    int rows = 0;          // (day, currency) rows written
};

// `to` is a YYYY-MM-DD date (empty: yesterday, UTC), `days` how many days
// up to it (1..366). Throws Error(kValidationFailed) for a bad date.
SalesSummaryOutcome summarize_sales(Backends& b, const std::string& to, int days);

}  // namespace bazaar::pipelines

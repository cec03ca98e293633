// Pipeline jobs run set-based SQL over whole tables (recommendations, sales
// summaries) that may take longer than a request's PG_TIMEOUT_MS. This
// raises the client deadline of one Pg for a scope and gives back the old
// one after; the statement must also lift the server's statement_timeout
// (`SET LOCAL statement_timeout`), which long_statement_sql() spells.
#pragma once

#include <string>

#include "bazaar/pg.hpp"

namespace bazaar::pipelines {

inline constexpr int kLongTransactionMs = 300000;

class LongTransaction {
  public:
    explicit LongTransaction(Pg& pg, int ms = kLongTransactionMs)
        : pg_(pg), saved_(pg.timeout_ms()) {
        pg_.set_timeout_ms(ms);
    }
    ~LongTransaction() { pg_.set_timeout_ms(saved_); }
    LongTransaction(const LongTransaction&) = delete;
    LongTransaction& operator=(const LongTransaction&) = delete;

  private:
    Pg& pg_;
    int saved_;
};

inline std::string long_statement_sql(int ms = kLongTransactionMs) {
    return "SET LOCAL statement_timeout = " + std::to_string(ms);
}

// The order statuses that mean "paid, and still a sale": PAID and every
// status after it on the delivery path. Refunded orders are not sales.
inline constexpr const char* kSoldStatusesSql = "('PAID', 'FULFILLING', 'SHIPPED', 'DELIVERED')";

}  // namespace bazaar::pipelines

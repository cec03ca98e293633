// The ai.recommendations pipeline job: "bought together" lists, read by
// GET /api/v1/books/:id/recommendations (catalog::recommendations).
//
// One SQL pass over the sold orders (kSoldStatusesSql): every pair of
// distinct live books in one order is one co-purchase. The score of B for A
// is the Ochiai (cosine) coefficient  together(A,B) / sqrt(orders(A) * orders(B)),
// where orders(X) counts the sold orders holding X: raw co-occurrence counts
// would put the store's best sellers first on every page, whatever the
// book; the normalisation favours books bought *with this one* rather than
// books bought with everything. Ties break by the higher book id, the
// reader's order (catalog::recommendations), so what is kept is what is shown. Quantities do not
// count: ten copies in one order are one co-purchase.
//
// The table is replaced atomically: DELETE and INSERT in one transaction
// (readers see the old lists until commit, then the new ones), under an
// EXCLUSIVE table lock so that two runs never interleave (reads go on). At
// most kKeepPerBook rows per book are kept: the API shows 10, the margin
// covers books deleted before the next run (never shown: the reader joins
// live books). Every cached recommendation page is invalidated after commit.
#pragma once

#include <cstddef>

#include "bazaar/backends.hpp"

namespace bazaar::pipelines {

inline constexpr int kKeepPerBook = 20;

struct RecommendationsOutcome {
    std::size_t rows = 0;    // recommendation rows written
    std::size_t books = 0;   // books with at least one recommendation
    std::size_t orders = 0;  // sold orders read
};

RecommendationsOutcome rebuild_recommendations(Backends& b);

}  // namespace bazaar::pipelines

-- Data and ai pipeline jobs (issue 11): the natural key of catalog imports
-- and the daily sales summary. The recommendations table itself exists
-- since 0001; its rebuild job lives in shared/src/pipelines/recommendations.cpp.

-- Canonical ISBN-13 (shared/src/catalog/isbn.cpp checks the digit). Unique
-- among live books only: a deleted book keeps its ISBN for its old orders,
-- and a later import of that ISBN is a new live book.
ALTER TABLE books ADD COLUMN isbn text CHECK (isbn ~ '^97[89][0-9]{10}$');
CREATE UNIQUE INDEX books_isbn_live_key ON books (isbn)
    WHERE isbn IS NOT NULL AND deleted_at IS NULL;

-- One row per UTC day and currency, rewritten whole by data.sales_summary
-- (so a rerun of a day replaces it: idempotent). An order counts on the day
-- it was created, when it reached a paid status (PAID and everything after
-- it on the delivery path).
CREATE TABLE sales_daily (
    day           date NOT NULL,
    currency      char(3) NOT NULL,
    orders        integer NOT NULL CHECK (orders >= 0),
    units         integer NOT NULL CHECK (units >= 0),
    revenue_cents bigint NOT NULL CHECK (revenue_cents >= 0),
    -- [{bookId, title, units, revenueCents}], best sellers first, at most 10
    top_books     jsonb NOT NULL DEFAULT '[]'::jsonb,
    computed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, currency)
);

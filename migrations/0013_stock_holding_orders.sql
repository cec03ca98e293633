-- Issue 18: an absolute stock figure (admin PATCH, catalog feed) is the
-- on-hand count; the copies held by open orders are subtracted
-- (shared/include/bazaar/catalog/stock_figure.hpp, docs/notes/stock.md).
-- Counting them must not read a book's whole order history: open orders are
-- few, so the count starts from this partial index (its predicate is
-- kHoldingOrderSql, word for word) and joins their lines by primary key.
CREATE INDEX IF NOT EXISTS orders_holding_stock_idx ON orders (id)
    WHERE NOT stock_released AND status IN ('PENDING', 'PAYMENT_PENDING', 'PAID', 'FULFILLING');

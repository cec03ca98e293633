-- Carts (issue 8): the durable copy is written by the cart-persist job
-- (shared/src/cart/cart_persist.cpp). carts.updated_at is the live cart's
-- last change, so the cleanup job can find carts idle for 30 days with this
-- index instead of a full scan.
CREATE INDEX carts_updated_at_idx ON carts (updated_at);

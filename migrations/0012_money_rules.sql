-- Issue 18: checkout and payments exactly right (docs/notes/orders-payments.md).

-- A refund the provider reports failed (after it was pending, or even after
-- it succeeded: Stripe may fail a refund days later) is REFUND_FAILED: the
-- money is still ours and an operator must return it another way.
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN (
    'PENDING', 'PAYMENT_PENDING', 'PAID', 'FULFILLING', 'SHIPPED', 'DELIVERED', 'EXPIRED',
    'CANCELLED', 'FAILED', 'REFUND_PENDING', 'REFUNDED', 'REFUND_FAILED'));

-- The machine's new moves, the same rows as kTransitions in
-- shared/include/bazaar/orders/order_status.hpp (order_status_test reads
-- every migration's INSERT INTO order_transitions and compares):
-- an admin refunds a paid order that has not shipped, and a refund the
-- provider failed.
INSERT INTO order_transitions (from_status, to_status) VALUES
    ('PAID', 'REFUND_PENDING'),
    ('FULFILLING', 'REFUND_PENDING'),
    ('REFUND_PENDING', 'REFUND_FAILED'),
    ('REFUNDED', 'REFUND_FAILED');

-- cart_version: the version of the cart the order consumed. A cart checks
-- out once: a second order from the same version is refused (409
-- CART_ALREADY_ORDERED), and the cart-clear job of the order clears the
-- cart only while it is still that version.
-- idempotency_key: the Idempotency-Key of the request that created the
-- order, so a retry whose first attempt committed (its answer lost, its
-- stored response gone) finds the order instead of ordering again.
-- intent_attempt: payments/init asks the provider for a new intent after a
-- mismatched payment consumed the previous one (its idempotency key is
-- bazaar-intent-<orderId>[-<attempt>]).
ALTER TABLE orders
    ADD COLUMN cart_version    bigint,
    ADD COLUMN idempotency_key text,
    ADD COLUMN intent_attempt  integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX orders_user_cart_version_key ON orders (user_id, cart_version)
    WHERE cart_version IS NOT NULL;
CREATE UNIQUE INDEX orders_user_idempotency_key ON orders (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- The per-user limits count a user's unpaid orders at every checkout.
CREATE INDEX orders_user_unpaid_idx ON orders (user_id) WHERE status = 'PAYMENT_PENDING';
-- The refund webhook finds its order by the provider's refund id.
CREATE INDEX orders_refund_id_idx ON orders (refund_id) WHERE refund_id IS NOT NULL;

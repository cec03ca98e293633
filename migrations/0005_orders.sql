-- Issue 9: checkout. The tables exist since 0001; this adds what the order
-- service (shared/src/orders/) relies on.

-- The status machine of API.md §5, the same rows as kTransitions in
-- shared/include/bazaar/orders/order_status.hpp (the unit test
-- order_status_test reads this file and compares). The trigger below refuses
-- every other move, whoever makes it.
CREATE TABLE order_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO order_transitions (from_status, to_status) VALUES
    ('PENDING', 'PAYMENT_PENDING'),
    ('PAYMENT_PENDING', 'PAID'),
    ('PAID', 'FULFILLING'),
    ('FULFILLING', 'SHIPPED'),
    ('SHIPPED', 'DELIVERED'),
    ('PAYMENT_PENDING', 'EXPIRED'),
    ('PAYMENT_PENDING', 'CANCELLED'),
    ('PAYMENT_PENDING', 'FAILED'),
    ('EXPIRED', 'PAID'),
    ('EXPIRED', 'REFUND_PENDING'),
    ('FAILED', 'PAID'),
    ('FAILED', 'REFUND_PENDING'),
    ('CANCELLED', 'REFUND_PENDING'),
    ('REFUND_PENDING', 'REFUNDED');

CREATE FUNCTION orders_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status NOT IN ('PENDING', 'PAYMENT_PENDING') THEN
            RAISE EXCEPTION 'order cannot start as %', NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'order_transition';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
            SELECT 1 FROM order_transitions
            WHERE from_status = OLD.status AND to_status = NEW.status) THEN
        RAISE EXCEPTION 'order cannot move from % to %', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'order_transition';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER orders_transition_guard
    BEFORE INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_check_transition();

-- Stock counters in Redis are rebuilt from books.stock; stock_seq numbers
-- every change of books.stock (bumped in the same UPDATE, under the row
-- lock, so it follows commit order per book). A rebuild records the seq it
-- read; a change applied to Redis afterwards is skipped when the rebuild
-- already saw it (shared/include/bazaar/orders/stock.hpp).
ALTER TABLE books ADD COLUMN stock_seq bigint NOT NULL DEFAULT 0;

-- The seq of the books UPDATE that took each line's stock: lets the holds
-- sweeper finish the Redis side of an order whose process died after commit.
ALTER TABLE order_items ADD COLUMN stock_seq bigint NOT NULL DEFAULT 0;

-- Cursor pages of a user's orders, newest first: an integer key for the
-- signed cursor (catalog/cursor.hpp), in creation order.
ALTER TABLE orders ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX orders_user_seq_idx ON orders (user_id, seq DESC);

-- Idempotency keys: a running request holds the key by a lease (owner,
-- locked_until); a process killed mid-request loses it when it runs out.
-- A finished request keeps its response (status, content type, body).
ALTER TABLE idempotency_keys
    ADD COLUMN owner         text,
    ADD COLUMN locked_until  timestamptz,
    ADD COLUMN content_type  text,
    ADD COLUMN order_id      uuid;

-- Live events in the outbox (topic 'live'): rows of one ordering key (an
-- order: 'order:<id>') are published strictly in id order, which for one
-- order is commit order (its transitions lock the order row).
ALTER TABLE outbox ADD COLUMN ordering_key text;
CREATE INDEX outbox_live_pending_idx ON outbox (ordering_key, id)
    WHERE published_at IS NULL AND failed_at IS NULL AND topic = 'live';

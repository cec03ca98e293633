-- Issue 9: payments (shared/src/payments/). orders and payment_events exist
-- since 0001; this adds what the payment service keeps.

-- payments/init returns the same intent on every call: its client secret is
-- kept with the intent id (the provider name and intent id have columns
-- since 0001). refund_id: the provider's refund of a REFUND_PENDING order,
-- written when the refund job got it.
ALTER TABLE orders
    ADD COLUMN payment_client_secret text,
    ADD COLUMN refund_id             text;

-- payment_events: one row per provider event id (its primary key is the
-- dedupe: the row is inserted in the same transaction as the event's effect,
-- so a redelivery, even a concurrent one, finds it and has no second
-- effect). `outcome` says what the event did, for operators:
--   applied       it moved the order
--   ignored       nothing to do (an event type we do not handle, an order
--                 already past the state it would set, an unknown intent)
--   mismatch      amount or currency differ from the order: not applied
ALTER TABLE payment_events
    ADD COLUMN outcome text NOT NULL DEFAULT 'applied'
        CHECK (outcome IN ('applied', 'ignored', 'mismatch')),
    ADD COLUMN detail  text;
CREATE INDEX payment_events_order_idx ON payment_events (order_id, received_at)
    WHERE order_id IS NOT NULL;


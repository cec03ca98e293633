-- A payment that succeeded for another amount or currency than its order is
-- not applied (payment_events.outcome = 'mismatch'), but the customer was
-- charged: the money goes back. refund_id is the provider's refund of that
-- event's charge, written by the "refund-event" job; NULL while pending.
ALTER TABLE payment_events ADD COLUMN refund_id text;

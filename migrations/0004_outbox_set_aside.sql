-- Issue 7: an outbox row the relay can never publish (its job is invalid, or
-- depends on a job that is gone) is tried OUTBOX_MAX_ATTEMPTS times, then set
-- aside with its error instead of being retried for ever. Set-aside rows are
-- listed by GET /api/v1/admin/outbox/failed and counted in /metrics.
ALTER TABLE outbox
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text,
    ADD COLUMN failed_at  timestamptz;

DROP INDEX outbox_unpublished_idx;
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_failed_idx ON outbox (id) WHERE failed_at IS NOT NULL;

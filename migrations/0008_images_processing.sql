-- Issue 10: image-orphan-cleanup looks for rows stuck in `processing`
-- (re-enqueued after 10 min idle, failed after a day); a partial index keeps
-- that scan to the few rows in flight however many images exist.
CREATE INDEX images_processing_idx ON images (updated_at) WHERE status = 'processing';

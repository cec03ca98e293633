-- Pipelines (issue 11). The schedule of every pipeline job is declared in
-- code (shared/src/pipelines/registry.cpp); Postgres only holds what an
-- operator changes and what must survive a Redis flush:
--   pipeline_job_settings  the enabled flag set through
--                          PATCH /api/v1/admin/pipelines/jobs/:id (absent row:
--                          the table's default)
--   pipeline_job_runs      the last run of each job, written by the worker's
--                          pipeline wrapper when a run starts and ends
CREATE TABLE pipeline_job_settings (
    job_id     text PRIMARY KEY,
    enabled    boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pipeline_job_runs (
    job_id       text PRIMARY KEY,
    queue_job_id text NOT NULL,
    status       text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at   timestamptz NOT NULL,
    duration_ms  bigint CHECK (duration_ms >= 0),
    error        text,
    result       jsonb
);

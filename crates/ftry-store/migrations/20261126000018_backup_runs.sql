-- Every backup the scheduler ran, and how it ended: what the backup
-- metrics (last success, its duration and size, last failure) are read from,
-- by whichever node exports them.
CREATE TABLE backup_runs (
    id          uuid PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed')),
    backup_id   text,
    size_bytes  bigint,
    error       text
);
CREATE INDEX backup_runs_recent ON backup_runs (status, finished_at DESC);

-- The W3C traceparent of the span that enqueued a job, when it was traced:
-- the job's run continues that trace, so a request and the work it caused
-- read as one.
ALTER TABLE jobs ADD COLUMN trace_parent text
    CHECK (trace_parent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$');

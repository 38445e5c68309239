-- Background jobs: a durable queue in the same database as the data, so a
-- job is enqueued in the same transaction as the change that causes it and
-- commits or rolls back with it.
--
-- A worker claims due jobs with FOR UPDATE SKIP LOCKED and leases them until
-- `locked_until`; a lease that runs out (the worker died) makes the job
-- claimable again. Payloads carry ids, never personal data. The table is the
-- platform's, not a business's: no row-level security, and tenants never
-- read it through the API.
CREATE TABLE jobs (
    id            uuid PRIMARY KEY,
    queue         text NOT NULL CHECK (queue ~ '^[a-z][a-z_]*$'),
    kind          text NOT NULL CHECK (kind ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)*$'),
    tenant_id     uuid REFERENCES tenants (id) ON DELETE CASCADE,
    payload       jsonb NOT NULL DEFAULT '{}',
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'done', 'dead', 'discarded')),
    run_at        timestamptz NOT NULL DEFAULT now(),
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts  integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),
    timeout_secs  integer NOT NULL CHECK (timeout_secs BETWEEN 1 AND 86400),
    locked_by     text,
    locked_until  timestamptz,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    CHECK ((state = 'running') = (locked_by IS NOT NULL AND locked_until IS NOT NULL))
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_open ON jobs (queue, state) WHERE state IN ('queued', 'running', 'dead');
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('done', 'discarded');

-- Idle workers wait on LISTEN ftry_jobs: a statement that adds due jobs
-- wakes them at its commit, so a job starts in milliseconds, not at the
-- next poll.
CREATE FUNCTION ftry_jobs_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_jobs WHERE run_at <= now()) THEN
        PERFORM pg_notify('ftry_jobs', '');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION ftry_jobs_notify();

-- Each attempt: who ran it, when, and how it ended. An operator's retry of
-- a dead job starts its attempts again from 1, so (job, attempt) repeats.
CREATE TABLE job_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt      integer NOT NULL CHECK (attempt >= 1),
    worker       text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    outcome      text CHECK (outcome IN ('success', 'retry', 'dead', 'released', 'expired')),
    error        text
);
CREATE INDEX job_runs_by_job ON job_runs (job_id, attempt) WHERE outcome IS NULL;
CREATE INDEX job_runs_of_job ON job_runs (job_id);

-- One row per run of a scheduled job: inserting it is what makes a run
-- happen once, whichever node gets there first.
CREATE TABLE schedule_runs (
    name    text NOT NULL,
    due_at  timestamptz NOT NULL,
    job_id  uuid NOT NULL,
    PRIMARY KEY (name, due_at)
);

-- Expired invitation and password-reset links and expired sessions (their
-- refresh tokens go with them), across every business: the policy of each
-- table is satisfied by setting each tenant in turn.
CREATE FUNCTION ftry_delete_expired_tokens(cutoff timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    t uuid;
    removed bigint := 0;
    n bigint;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('ftry.tenant_id', t::text, true);
        DELETE FROM user_tokens WHERE expires_at < cutoff;
        GET DIAGNOSTICS n = ROW_COUNT;
        removed := removed + n;
        DELETE FROM sessions WHERE expires_at < cutoff;
        GET DIAGNOSTICS n = ROW_COUNT;
        removed := removed + n;
    END LOOP;
    PERFORM set_config('ftry.tenant_id', '', true);
    RETURN removed;
END
$$;

-- Audit events older than `keep_days`. The service may not delete audit
-- events itself; this function (run with the owner's rights) is its only
-- way, and it refuses to keep less than 90 days.
CREATE FUNCTION ftry_delete_old_audit_events(keep_days integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t uuid;
    cutoff timestamptz;
    removed bigint := 0;
    n bigint;
BEGIN
    IF keep_days IS NULL OR keep_days < 90 THEN
        RAISE EXCEPTION 'audit events are kept at least 90 days (asked: %)', keep_days;
    END IF;
    cutoff := now() - make_interval(days => keep_days);
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('ftry.tenant_id', t::text, true);
        DELETE FROM audit_events WHERE occurred_at < cutoff;
        GET DIAGNOSTICS n = ROW_COUNT;
        removed := removed + n;
    END LOOP;
    PERFORM set_config('ftry.tenant_id', '', true);
    DELETE FROM platform_audit_events WHERE occurred_at < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN removed + n;
END
$$;

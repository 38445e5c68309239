-- A business's schedule version: a counter that moves, in the same commit,
-- with every change to anything an availability search reads (the tables of
-- scheduling.sql). A node may keep a schedule it loaded and answer from it
-- for as long as the version it was loaded at is still the current one;
-- reading the version is one primary-key lookup instead of the whole load.
--
-- One counter per business, not per location: a staff member's bookings at
-- one branch take time from their hours at every other.
CREATE TABLE schedule_versions (
    tenant_id uuid NOT NULL PRIMARY KEY,
    version   bigint NOT NULL
);
ALTER TABLE schedule_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE schedule_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON schedule_versions
    USING (tenant_id = (SELECT ftry_current_tenant()))
    WITH CHECK (tenant_id = (SELECT ftry_current_tenant()));

-- Deferred to the commit, so the version row is locked only while the
-- transaction commits (never while it waits on an exclusion constraint,
-- which could deadlock two bookings), and moved once per transaction
-- however many rows it wrote.
CREATE FUNCTION ftry_schedule_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
BEGIN
    IF current_setting('ftry.schedule_moved', true) = changed::text THEN
        RETURN NULL;
    END IF;
    INSERT INTO schedule_versions AS v (tenant_id, version) VALUES (changed, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = v.version + 1;
    PERFORM set_config('ftry.schedule_moved', changed::text, true);
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['locations', 'location_hours', 'location_closures', 'services',
                             'service_locations', 'staff', 'staff_services', 'staff_hours', 'time_off',
                             'resources', 'appointment_items'] LOOP
        EXECUTE format('CREATE CONSTRAINT TRIGGER schedule_changed AFTER INSERT OR UPDATE OR DELETE ON %I
                        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ftry_schedule_changed()', t);
    END LOOP;
END
$$;

-- Two hot reads done in one round trip each, outside any explicit
-- transaction: the function sets the tenant for its own statement (the
-- setting is transaction-local, and the statement is its own transaction)
-- and reads under row-level security as any tenant query does. They save a
-- request the BEGIN and COMMIT round trips of a transaction around one read.

-- The business's schedule version (scheduling::version).
CREATE FUNCTION ftry_schedule_version(tenant uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ftry.tenant_id', tenant::text, true);
    RETURN COALESCE((SELECT v.version FROM schedule_versions v WHERE v.tenant_id = tenant), 0);
END
$$;

-- What every authenticated request checks: its session, its user, its
-- business and the user's roles as they are now.
CREATE FUNCTION ftry_session_standing(tenant uuid, for_user uuid, for_session uuid)
RETURNS TABLE (user_status text, tenant_status text, revoked_at timestamptz, expires_at timestamptz,
               builtins text[], custom text[])
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ftry.tenant_id', tenant::text, true);
    RETURN QUERY
    SELECT u.status, t.status, s.revoked_at, s.expires_at,
           ARRAY(SELECT r.builtin FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id
                  AND r.id = ur.role_id WHERE ur.user_id = u.id AND r.builtin IS NOT NULL),
           ARRAY(SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp
                  ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id WHERE ur.user_id = u.id)
      FROM users u
      JOIN tenants t ON t.id = u.tenant_id
      JOIN sessions s ON s.tenant_id = u.tenant_id AND s.id = for_session AND s.user_id = u.id
     WHERE u.id = for_user AND u.tenant_id = tenant;
END
$$;

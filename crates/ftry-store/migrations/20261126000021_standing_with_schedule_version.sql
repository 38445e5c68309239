-- A request that searches availability or shows the calendar needs its
-- session's standing and the business's versions: the standing now carries
-- them, so such a request makes one round trip before it can answer from
-- what its node holds, not two.

-- The calendar shows, besides what a schedule holds (whose changes move the
-- schedule version), each visit's status and its client's name: the
-- calendar version moves, in the same commit, with any change to a visit
-- and with a client's new name. A node may keep a calendar day it drew for
-- as long as both versions are the ones it was drawn at.
ALTER TABLE schedule_versions ADD COLUMN calendar bigint NOT NULL DEFAULT 0;

-- One trigger function moves either counter: the schedule version (no
-- argument, as migration 0010's triggers call it) or the calendar version
-- (argument 'calendar'), once per transaction each.
CREATE OR REPLACE FUNCTION ftry_schedule_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    for_calendar boolean := TG_NARGS > 0 AND TG_ARGV[0] = 'calendar';
    moved text := CASE WHEN for_calendar THEN 'ftry.calendar_moved' ELSE 'ftry.schedule_moved' END;
BEGIN
    IF current_setting(moved, true) = changed::text THEN
        RETURN NULL;
    END IF;
    INSERT INTO schedule_versions AS v (tenant_id, version, calendar)
        VALUES (changed, CASE WHEN for_calendar THEN 0 ELSE 1 END, CASE WHEN for_calendar THEN 1 ELSE 0 END)
        ON CONFLICT (tenant_id) DO UPDATE
        SET version = v.version + CASE WHEN for_calendar THEN 0 ELSE 1 END,
            calendar = v.calendar + CASE WHEN for_calendar THEN 1 ELSE 0 END;
    PERFORM set_config(moved, changed::text, true);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER calendar_changed AFTER INSERT OR UPDATE OR DELETE ON appointments
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ftry_schedule_changed('calendar');
CREATE CONSTRAINT TRIGGER calendar_changed AFTER UPDATE OF name ON clients
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ftry_schedule_changed('calendar');

DROP FUNCTION ftry_session_standing(uuid, uuid, uuid);
CREATE FUNCTION ftry_session_standing(tenant uuid, for_user uuid, for_session uuid)
RETURNS TABLE (user_status text, tenant_status text, revoked_at timestamptz, expires_at timestamptz,
               builtins text[], custom text[], schedule_version bigint, calendar_version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ftry.tenant_id', tenant::text, true);
    RETURN QUERY
    SELECT u.status, t.status, s.revoked_at, s.expires_at,
           ARRAY(SELECT r.builtin FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id
                  AND r.id = ur.role_id WHERE ur.user_id = u.id AND r.builtin IS NOT NULL),
           ARRAY(SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp
                  ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id WHERE ur.user_id = u.id),
           COALESCE(v.version, 0), COALESCE(v.calendar, 0)
      FROM users u
      JOIN tenants t ON t.id = u.tenant_id
      JOIN sessions s ON s.tenant_id = u.tenant_id AND s.id = for_session AND s.user_id = u.id
      LEFT JOIN schedule_versions v ON v.tenant_id = u.tenant_id
     WHERE u.id = for_user AND u.tenant_id = tenant;
END
$$;

-- The booked items of a location's calendar between two instants, in one
-- round trip outside any transaction (the function sets the tenant for its
-- own statement, as the two functions of migration 0010 do): with the
-- schedule held by the node, a calendar day is the standing and this.
CREATE FUNCTION ftry_calendar_items(tenant uuid, location uuid, from_at timestamptz, to_at timestamptz)
RETURNS TABLE (appointment_id uuid, item_id uuid, status text, service_name text, client_name text,
               staff_id uuid, resource_id uuid, starts_at timestamptz, ends_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('ftry.tenant_id', tenant::text, true);
    RETURN QUERY
    SELECT i.appointment_id, i.id, a.status, s.name, c.name, i.staff_id, i.resource_id,
           lower(i.client_time), upper(i.client_time)
      FROM appointment_items i
      JOIN appointments a ON a.tenant_id = i.tenant_id AND a.id = i.appointment_id
      JOIN services s ON s.tenant_id = i.tenant_id AND s.id = i.service_id
      JOIN clients c ON c.tenant_id = a.tenant_id AND c.id = a.client_id
     WHERE i.tenant_id = tenant AND i.location_id = location AND i.client_time && tstzrange(from_at, to_at)
       -- What an index can find (no item lasts a day).
       AND i.starts_at >= from_at - interval '1 day' AND i.starts_at < to_at
       AND (i.active OR a.status = 'no_show')
     ORDER BY lower(i.client_time), i.position;
END
$$;

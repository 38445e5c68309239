-- A request that searches availability or shows the calendar needs its
-- session's standing and the business's schedule version: the standing now
-- carries the version, so such a request makes one round trip before it
-- can answer from the schedule its node holds, not two.
DROP FUNCTION ftry_session_standing(uuid, uuid, uuid);
CREATE FUNCTION ftry_session_standing(tenant uuid, for_user uuid, for_session uuid)
RETURNS TABLE (user_status text, tenant_status text, revoked_at timestamptz, expires_at timestamptz,
               builtins text[], custom text[], schedule_version bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('ftry.tenant_id', tenant::text, true);
    RETURN QUERY
    SELECT u.status, t.status, s.revoked_at, s.expires_at,
           ARRAY(SELECT r.builtin FROM user_roles ur JOIN roles r ON r.tenant_id = ur.tenant_id
                  AND r.id = ur.role_id WHERE ur.user_id = u.id AND r.builtin IS NOT NULL),
           ARRAY(SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp
                  ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id WHERE ur.user_id = u.id),
           COALESCE((SELECT v.version FROM schedule_versions v WHERE v.tenant_id = tenant), 0)
      FROM users u
      JOIN tenants t ON t.id = u.tenant_id
      JOIN sessions s ON s.tenant_id = u.tenant_id AND s.id = for_session AND s.user_id = u.id
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

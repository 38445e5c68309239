-- One location's schedule for the UTC window [$2, $3) in one statement.
-- $1: location, $4: an appointment whose own items are left out (or NULL),
-- $5: only these services and their staff overrides (or NULL for all),
-- $6: only these staff members (or NULL for all with hours here).
-- Small parts come as JSON; the parts that grow (staff hours, busy time)
-- as parallel arrays, which PostgreSQL sends in binary with nothing to
-- build or parse per row.
WITH staff_here AS (
    SELECT s.id, s.name, s.title, s.colour, s.display_order, s.active, s.bookable_online
      FROM staff s
     WHERE EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = s.id AND h.location_id = $1)
       AND ($6::uuid[] IS NULL OR s.id = ANY ($6))
)
SELECT
    -- Read in the same snapshot as everything else here (scheduling::version).
    COALESCE((SELECT v.version FROM schedule_versions v JOIN locations l ON l.tenant_id = v.tenant_id
               WHERE l.id = $1), 0) AS version,
    (SELECT row_to_json(r) FROM (
        SELECT id, name, timezone, online_booking, min_notice_minutes, max_days_ahead, slot_step_minutes,
               cancellation_window_minutes
          FROM locations WHERE id = $1) r) AS rules,
    (SELECT COALESCE(json_agg(r ORDER BY r.weekday, r.starts), '[]') FROM (
        SELECT location_id AS owner_id, weekday, 'open' AS kind, opens AS starts, closes AS ends
          FROM location_hours WHERE location_id = $1) r) AS opening_hours,
    (SELECT COALESCE(json_agg(r ORDER BY r.first_day), '[]') FROM (
        SELECT first_day, last_day FROM location_closures WHERE location_id = $1) r) AS closures,
    (SELECT COALESCE(json_agg(r ORDER BY r.display_order, r.name, r.id), '[]') FROM (
        SELECT s.id, s.name, s.duration_minutes, s.buffer_before_minutes, s.buffer_after_minutes,
               s.processing_offset_minutes, s.processing_minutes, s.price_paise, s.resource_type,
               s.online_bookable, s.active, s.display_order,
               EXISTS (SELECT 1 FROM service_locations sl WHERE sl.service_id = s.id AND sl.location_id = $1)
                   AS offered_here
          FROM services s WHERE $5::uuid[] IS NULL OR s.id = ANY ($5)) r) AS services,
    (SELECT COALESCE(json_agg(r ORDER BY r.display_order, r.name, r.id), '[]') FROM staff_here r) AS staff,
    (SELECT COALESCE(json_agg(r), '[]') FROM (
        SELECT staff_id, service_id, price_paise, duration_minutes
          FROM staff_services
         WHERE staff_id IN (SELECT id FROM staff_here) AND ($5::uuid[] IS NULL OR service_id = ANY ($5))) r)
        AS staff_services,
    hours.owners AS hours_staff,
    hours.weekdays AS hours_weekdays,
    hours.kinds AS hours_kinds,
    hours.starts AS hours_starts,
    hours.ends AS hours_ends,
    (SELECT COALESCE(json_agg(r), '[]') FROM (
        SELECT staff_id AS owner_id, lower(period) AS starts, upper(period) AS ends
          FROM time_off WHERE staff_id IN (SELECT id FROM staff_here) AND period && tstzrange($2, $3)) r) AS time_off,
    (SELECT COALESCE(json_agg(r ORDER BY r.display_order, r.name, r.id), '[]') FROM (
        SELECT id, name, resource_type, capacity, display_order
          FROM resources WHERE location_id = $1 AND active) r) AS resources,
    busy.staff_ids AS busy_staff,
    busy.busy_from,
    busy.busy_to,
    busy.idle_from,
    busy.idle_to,
    uses.resource_ids AS use_resources,
    uses.starts AS use_starts,
    uses.ends AS use_ends
  FROM (SELECT COALESCE(array_agg(staff_id), '{}') AS owners,
               COALESCE(array_agg(weekday), '{}') AS weekdays,
               COALESCE(array_agg(kind), '{}') AS kinds,
               COALESCE(array_agg(starts), '{}') AS starts,
               COALESCE(array_agg(ends), '{}') AS ends
          FROM staff_hours WHERE location_id = $1 AND ($6::uuid[] IS NULL OR staff_id = ANY ($6))) hours,
       (SELECT COALESCE(array_agg(sh.id), '{}') AS staff_ids,
               COALESCE(array_agg(i.busy_from), '{}') AS busy_from,
               COALESCE(array_agg(i.busy_to), '{}') AS busy_to,
               COALESCE(array_agg(i.idle_from), '{}') AS idle_from,
               COALESCE(array_agg(i.idle_to), '{}') AS idle_to
          FROM staff_here sh
          -- Busy time anywhere, per staff member through appointment_items_staff_busy
          -- (an index-only scan): items starting from a day before the window (no
          -- item's buffers reach further) to its end. OFFSET 0 keeps it per staff.
          JOIN LATERAL (SELECT i.busy_from, i.busy_to, i.idle_from, i.idle_to FROM appointment_items i
                         WHERE i.staff_id = sh.id AND i.active
                           AND i.starts_at >= $2 - interval '1 day' AND i.starts_at < $3
                           AND i.busy_to > $2
                           AND ($4::uuid IS NULL OR i.appointment_id <> $4) OFFSET 0) i ON true) busy,
       (SELECT COALESCE(array_agg(resource_id), '{}') AS resource_ids,
               COALESCE(array_agg(lower(client_time)), '{}') AS starts,
               COALESCE(array_agg(upper(client_time)), '{}') AS ends
          FROM appointment_items
         WHERE active AND location_id = $1 AND resource_id IS NOT NULL
           AND starts_at >= $2 - interval '1 day' AND starts_at < $3
           AND client_time && tstzrange($2, $3)
           AND ($4::uuid IS NULL OR appointment_id <> $4)) uses

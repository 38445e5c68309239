-- Availability reads thousands of items' busy time per request. Reading it
-- from the `staff_time` multirange (lower/upper/unnest of a multirange, and
-- an overlap test on it) cost several times more than the index scan that
-- found the rows. The same time as four plain columns: a staff member is
-- busy over [busy_from, busy_to) except, during a processing gap, over
-- [idle_from, idle_to) (NULL without a gap; an item has at most one).
ALTER TABLE appointment_items
    ADD COLUMN busy_from timestamptz GENERATED ALWAYS AS (lower(staff_time)) STORED,
    ADD COLUMN busy_to timestamptz GENERATED ALWAYS AS (upper(staff_time)) STORED,
    ADD COLUMN idle_from timestamptz
        GENERATED ALWAYS AS (lower(tstzmultirange(range_merge(staff_time)) - staff_time)) STORED,
    ADD COLUMN idle_to timestamptz
        GENERATED ALWAYS AS (upper(tstzmultirange(range_merge(staff_time)) - staff_time)) STORED;

DROP INDEX appointment_items_staff_busy;
CREATE INDEX appointment_items_staff_busy ON appointment_items (tenant_id, staff_id, starts_at)
    INCLUDE (busy_from, busy_to, idle_from, idle_to, appointment_id) WHERE active;

-- The calendar lists a location's items of a day or a week, cancelled and
-- no-show ones included: by start, which row-level security lets an index
-- serve (a range overlap test is not leakproof and cannot).
CREATE INDEX appointment_items_by_location_start ON appointment_items (tenant_id, location_id, starts_at);

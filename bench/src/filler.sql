-- Other businesses: :tenants of them, each with one branch, ten staff, one
-- service and one client, and 500 past and future items per staff member
-- (5,000 per business).
CREATE TEMPORARY TABLE filler AS
SELECT n, gen_random_uuid() AS tenant_id, gen_random_uuid() AS location_id, gen_random_uuid() AS service_id,
       gen_random_uuid() AS client_id
  FROM generate_series(1, :tenants) n;

INSERT INTO tenants (id, slug, name, status) SELECT tenant_id, 'filler-' || n, 'Filler salon ' || n, 'active' FROM filler;
INSERT INTO locations (tenant_id, id, name, state_code) SELECT tenant_id, location_id, 'Branch', '29' FROM filler;
INSERT INTO services (tenant_id, id, name, duration_minutes, price_paise, tax_code)
SELECT tenant_id, service_id, 'Haircut', 30, 60000, '999721' FROM filler;
INSERT INTO clients (tenant_id, id, name) SELECT tenant_id, client_id, 'Client ' || n FROM filler;

CREATE TEMPORARY TABLE filler_staff AS
SELECT f.*, gen_random_uuid() AS staff_id, s FROM filler f, generate_series(1, 10) s;
INSERT INTO staff (tenant_id, id, name, display_order) SELECT tenant_id, staff_id, 'Staff ' || s, s FROM filler_staff;

CREATE TEMPORARY TABLE filler_items AS
SELECT fs.tenant_id, fs.location_id, fs.service_id, fs.client_id, fs.staff_id,
       gen_random_uuid() AS appointment_id, gen_random_uuid() AS item_id,
       date_trunc('day', now()) - interval '150 days' + d * interval '1 day' + interval '4 hours'
           + k * interval '40 minutes' AS starts
  FROM filler_staff fs, generate_series(0, 49) d, generate_series(0, 9) k;

INSERT INTO appointments (tenant_id, id, location_id, client_id, status, source, starts_at, ends_at)
SELECT tenant_id, appointment_id, location_id, client_id,
       CASE WHEN starts < now() THEN 'completed' ELSE 'booked' END, 'front_desk', starts, starts + interval '30 minutes'
  FROM filler_items;
-- A million rows from other businesses: their schedule versions need not
-- move (nothing holds their schedules yet), so the per-row trigger is off.
ALTER TABLE appointment_items DISABLE TRIGGER schedule_changed;
INSERT INTO appointment_items (tenant_id, id, appointment_id, position, location_id, service_id, staff_id,
                               client_time, staff_time, price_paise)
SELECT tenant_id, item_id, appointment_id, 0, location_id, service_id, staff_id,
       tstzrange(starts, starts + interval '30 minutes'),
       tstzmultirange(tstzrange(starts, starts + interval '30 minutes')), 60000
  FROM filler_items;
ALTER TABLE appointment_items ENABLE TRIGGER schedule_changed;
DROP TABLE filler_items, filler_staff, filler;

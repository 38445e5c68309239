-- Other businesses: :tenants of them, each with one branch open 09:00–21:00
-- (Asia/Kolkata), ten staff, three services (30, 40 and 45 minutes), :clients
-- clients, and a day's book per staff member on each of :days days, from 150
-- days ago: eight visits on weekdays, eleven at the weekend (the peak), at
-- 45-minute steps from 09:00. Every fourth item is the second service of a
-- two-service visit with the same stylist; 8% of visits are cancelled and 5%
-- were no-shows; past visits are completed, future ones booked.
-- :invoice_permille of every thousand completed visits were checked out: an
-- invoice with a line per service at 18% GST, every fifth paid in two parts
-- (cash, then UPI). Businesses :first to :last of the run are made here; the
-- loader runs several ranges at once, one per connection.
CREATE TEMPORARY TABLE filler AS
SELECT n, gen_random_uuid() AS tenant_id, gen_random_uuid() AS location_id
  FROM generate_series(:first, :last) n;

INSERT INTO tenants (id, slug, name, status) SELECT tenant_id, 'filler-' || n, 'Filler salon ' || n, 'active' FROM filler;
INSERT INTO locations (tenant_id, id, name, state_code) SELECT tenant_id, location_id, 'Branch', '29' FROM filler;
INSERT INTO location_hours (tenant_id, location_id, weekday, opens, closes)
SELECT tenant_id, location_id, d, 540, 1260 FROM filler, generate_series(1, 7) d;

CREATE TEMPORARY TABLE filler_services AS
SELECT f.tenant_id, gen_random_uuid() AS service_id, s, (ARRAY[30, 40, 45])[s] AS minutes
  FROM filler f, generate_series(1, 3) s;
INSERT INTO services (tenant_id, id, name, duration_minutes, price_paise, tax_code, display_order)
SELECT tenant_id, service_id, (ARRAY['Haircut', 'Hair spa', 'Facial'])[s], minutes, 30000 * s, '999721', s
  FROM filler_services;

CREATE TEMPORARY TABLE filler_clients AS
SELECT f.tenant_id, c, gen_random_uuid() AS client_id FROM filler f, generate_series(0, :clients - 1) c;
INSERT INTO clients (tenant_id, id, name) SELECT tenant_id, client_id, 'Client ' || c FROM filler_clients;

CREATE TEMPORARY TABLE filler_staff AS
SELECT f.*, gen_random_uuid() AS staff_id, s FROM filler f, generate_series(1, 10) s;
INSERT INTO staff (tenant_id, id, name, display_order) SELECT tenant_id, staff_id, 'Staff ' || s, s FROM filler_staff;
INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
SELECT tenant_id, staff_id, location_id, d, 'work', 540, 1260 FROM filler_staff, generate_series(1, 7) d;
INSERT INTO staff_services (tenant_id, staff_id, service_id)
SELECT fs.tenant_id, fs.staff_id, sv.service_id
  FROM filler_staff fs JOIN filler_services sv ON sv.tenant_id = fs.tenant_id;

-- One row per item. A visit is keyed by its first item's slot; its client
-- is picked from the business's book by a hash of that key.
CREATE TEMPORARY TABLE filler_items AS
WITH days AS (
    SELECT d, (date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata') - interval '150 days' + d * interval '1 day')::date AS day
      FROM generate_series(0, :days - 1) d
), slots AS (
    SELECT fs.tenant_id, fs.location_id, fs.staff_id, fs.s AS staff_no, days.d, days.day, k,
           k - (k % 4 = 1)::int AS visit_k
      FROM filler_staff fs, days,
           generate_series(0, CASE WHEN extract(isodow FROM days.day) >= 6 THEN 10 ELSE 7 END) k
)
SELECT tenant_id, location_id, staff_id, k, (k % 4 = 1) AS second,
       md5(staff_id::text || ':' || d || ':' || visit_k)::uuid AS appointment_id,
       gen_random_uuid() AS item_id,
       hashtext(staff_id::text || ':' || d || ':' || visit_k)::bigint & 2147483647 AS visit_hash,
       (day + time '09:00' + k * interval '45 minutes') AT TIME ZONE 'Asia/Kolkata' AS starts,
       1 + (staff_no + k) % 3 AS service_no
  FROM slots;

CREATE TEMPORARY TABLE filler_visits AS
SELECT i.tenant_id, i.location_id, i.appointment_id, min(i.starts) AS starts_at,
       max(i.starts) + interval '45 minutes' AS ends_at,
       CASE WHEN min(i.visit_hash) % 100 < 8 THEN 'cancelled'
            WHEN min(i.visit_hash) % 100 < 13 AND min(i.starts) < now() THEN 'no_show'
            WHEN min(i.starts) < now() THEN 'completed' ELSE 'booked' END AS status,
       min(i.visit_hash) AS visit_hash
  FROM filler_items i GROUP BY i.tenant_id, i.location_id, i.appointment_id;

-- Millions of rows from other businesses, consistent by construction: the
-- foreign-key checks and triggers are off (replica role) for the bulk, which
-- keeps the schedule versions still (nothing holds these schedules yet).
-- The exclusion constraints stay: they are indexes, checked as ever.
SET session_replication_role = replica;
INSERT INTO appointments (tenant_id, id, location_id, client_id, status, source, starts_at, ends_at,
                          cancel_reason, cancelled_by, cancelled_at)
SELECT v.tenant_id, v.appointment_id, v.location_id, c.client_id, v.status, (ARRAY['front_desk', 'front_desk', 'online', 'walk_in'])[1 + v.visit_hash % 4],
       v.starts_at, v.ends_at,
       CASE WHEN v.status = 'cancelled' THEN 'Client called' END,
       CASE WHEN v.status = 'cancelled' THEN 'staff' END,
       CASE WHEN v.status = 'cancelled' THEN v.starts_at - interval '1 day' END
  FROM filler_visits v JOIN filler_clients c ON c.tenant_id = v.tenant_id AND c.c = v.visit_hash % :clients;

INSERT INTO appointment_items (tenant_id, id, appointment_id, position, location_id, service_id, staff_id,
                               client_time, staff_time, price_paise, active)
SELECT i.tenant_id, i.item_id, i.appointment_id, i.second::int, i.location_id, sv.service_id, i.staff_id,
       tstzrange(i.starts, i.starts + sv.minutes * interval '1 minute'),
       tstzmultirange(tstzrange(i.starts, i.starts + sv.minutes * interval '1 minute')), 30000 * sv.s,
       v.status NOT IN ('cancelled', 'no_show')
  FROM filler_items i
  JOIN filler_services sv ON sv.tenant_id = i.tenant_id AND sv.s = i.service_no
  JOIN filler_visits v ON v.appointment_id = i.appointment_id;

CREATE TEMPORARY TABLE filler_invoices AS
SELECT v.tenant_id, v.location_id, v.appointment_id, c.client_id, gen_random_uuid() AS invoice_id,
       (v.starts_at AT TIME ZONE 'Asia/Kolkata')::date AS issued_on, v.ends_at,
       row_number() OVER (PARTITION BY v.tenant_id ORDER BY v.starts_at, v.appointment_id) AS seq
  FROM filler_visits v JOIN filler_clients c ON c.tenant_id = v.tenant_id AND c.c = v.visit_hash % :clients
 WHERE v.status = 'completed' AND (v.visit_hash / 128) % 1000 < :invoice_permille;

CREATE TEMPORARY TABLE filler_lines AS
SELECT fi.invoice_id, fi.tenant_id, i.second::int AS position, i.staff_id, i.item_id, sv.service_id,
       (ARRAY['Haircut', 'Hair spa', 'Facial'])[sv.s] AS description, 30000 * sv.s AS price
  FROM filler_invoices fi
  JOIN filler_items i ON i.appointment_id = fi.appointment_id
  JOIN filler_services sv ON sv.tenant_id = i.tenant_id AND sv.s = i.service_no;

INSERT INTO invoices (tenant_id, id, location_id, kind, status, appointment_id, client_id, customer_name,
                      place_of_supply, number, financial_year, sequence, issued_on, document_kind, totals,
                      content_hash, finalized_at, payment_status, total_paise, supplier, taxable_paise, tax_paise,
                      lines_total_paise)
SELECT fi.tenant_id, fi.invoice_id, fi.location_id, 'invoice', 'finalized', fi.appointment_id, fi.client_id,
       'Client', '29', 'FX/' || lpad(fi.seq::text, 10, '0'), 2026, fi.seq, fi.issued_on, 'tax_invoice',
       jsonb_build_object('grand_total', t.total), sha256(fi.invoice_id::text::bytea), fi.ends_at, 'paid',
       t.total, '{"name": "Filler salon"}', t.taxable, t.tax, t.total
  FROM filler_invoices fi
  JOIN (SELECT invoice_id, sum(price * 118 / 100) AS total, sum(price) AS taxable, sum(2 * (price * 9 / 100)) AS tax
          FROM filler_lines GROUP BY invoice_id) t
 USING (invoice_id);

INSERT INTO invoice_lines (tenant_id, invoice_id, position, kind, description, code, quantity, unit_price_paise,
                           staff_id, service_id, appointment_item_id, line_discount_paise,
                           invoice_discount_paise, taxable_paise, rate_bp, cgst_paise, sgst_paise, igst_paise,
                           total_paise)
SELECT tenant_id, invoice_id, position, 'service', description, '999721', 1, price, staff_id, service_id, item_id,
       0, 0, price, 1800, price * 9 / 100, price * 9 / 100, 0, price * 118 / 100
  FROM filler_lines;

-- Every fifth invoice is split: 40% in cash at the desk, the rest by UPI.
INSERT INTO payments (tenant_id, id, invoice_id, location_id, kind, method, amount_paise, received_at)
SELECT i.tenant_id, gen_random_uuid(), i.id, i.location_id, 'payment', part.method, part.amount,
       i.finalized_at + interval '2 minutes'
  FROM invoices i
  JOIN filler_invoices fi ON fi.tenant_id = i.tenant_id AND fi.invoice_id = i.id
 CROSS JOIN LATERAL (
       SELECT 'upi' AS method, i.total_paise AS amount WHERE fi.seq % 5 <> 0
       UNION ALL SELECT 'cash', i.total_paise * 2 / 5 WHERE fi.seq % 5 = 0
       UNION ALL SELECT 'upi', i.total_paise - i.total_paise * 2 / 5 WHERE fi.seq % 5 = 0
 ) part;

SET session_replication_role = DEFAULT;
DROP TABLE filler_lines, filler_invoices, filler_items, filler_visits, filler_staff, filler_services,
           filler_clients, filler;

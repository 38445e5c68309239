-- The measured salon: 20 staff, 60 services in 6 categories, 10 chairs and
-- 3 rooms, open every day 09:00–21:00 (Asia/Kolkata), and 5,000 booked
-- items over the 14 days from :first_date.
INSERT INTO location_hours (tenant_id, location_id, weekday, opens, closes)
SELECT :tenant, :location, d, 540, 1260 FROM generate_series(1, 7) d;

INSERT INTO service_categories (tenant_id, id, name, display_order)
SELECT :tenant, gen_random_uuid(), 'Category ' || c, c FROM generate_series(1, 6) c;

INSERT INTO services (tenant_id, id, category_id, name, duration_minutes, buffer_before_minutes,
                      buffer_after_minutes, processing_offset_minutes, processing_minutes, price_paise, tax_code,
                      resource_type, display_order)
SELECT :tenant, gen_random_uuid(),
       (SELECT id FROM service_categories WHERE tenant_id = :tenant AND display_order = 1 + s % 6),
       'Service ' || lpad(s::text, 2, '0'),
       30 + 15 * (s % 7),
       CASE WHEN s % 5 = 0 THEN 5 ELSE 0 END,
       CASE WHEN s % 3 = 0 THEN 10 ELSE 0 END,
       CASE WHEN s % 10 = 4 AND s % 7 >= 2 THEN 20 END,
       CASE WHEN s % 10 = 4 AND s % 7 >= 2 THEN 20 END,
       50000 + 25000 * (s % 9),
       '999721',
       CASE WHEN s % 6 = 5 THEN 'room' WHEN s % 4 = 1 THEN 'chair' END,
       s
  FROM generate_series(0, 59) s;

INSERT INTO service_locations (tenant_id, service_id, location_id)
SELECT :tenant, id, :location FROM services WHERE tenant_id = :tenant;

INSERT INTO staff (tenant_id, id, name, display_order)
SELECT :tenant, gen_random_uuid(), 'Staff ' || lpad(n::text, 2, '0'), n FROM generate_series(1, 20) n;

INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
SELECT :tenant, st.id, :location, d, 'work', 540, 1260 FROM staff st, generate_series(1, 7) d
 WHERE st.tenant_id = :tenant;
INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
SELECT :tenant, st.id, :location, d, 'break', 780, 810 FROM staff st, generate_series(1, 7) d
 WHERE st.tenant_id = :tenant;

-- Each staff member performs half the services.
INSERT INTO staff_services (tenant_id, staff_id, service_id)
SELECT :tenant, st.id, sv.id FROM staff st, services sv
 WHERE st.tenant_id = :tenant AND sv.tenant_id = :tenant AND (st.display_order + sv.display_order) % 2 = 0;

INSERT INTO resources (tenant_id, id, location_id, name, resource_type, display_order)
SELECT :tenant, gen_random_uuid(), :location, 'Chair ' || n, 'chair', n FROM generate_series(1, 10) n;
INSERT INTO resources (tenant_id, id, location_id, name, resource_type, display_order)
SELECT :tenant, gen_random_uuid(), :location, 'Room ' || n, 'room', n FROM generate_series(1, 3) n;

-- 5,000 items over six weeks around the measured fortnight (two before, two
-- measured, two after): about six half-hour bookings a day per staff member,
-- at pseudo-random quarter hours from 09:30 local, so days are half full.
WITH service AS (
    SELECT id FROM services WHERE tenant_id = :tenant AND resource_type IS NULL AND processing_minutes IS NULL
       AND buffer_before_minutes = 0 AND buffer_after_minutes = 0 ORDER BY display_order LIMIT 1
), slots AS (
    SELECT gen_random_uuid() AS appointment_id, gen_random_uuid() AS item_id, st.id AS staff_id,
           ((date :first_date + d) + time '09:30' + (k * 6 + (abs(hashtext(st.id::text || d)) % 3)) * interval '15 minutes')
               AT TIME ZONE 'Asia/Kolkata' AS starts
      FROM staff st, generate_series(-14, 27) d, generate_series(0, 5) k
     WHERE st.tenant_id = :tenant
     ORDER BY d, k, st.display_order
     LIMIT 5000
), appointments_made AS (
    INSERT INTO appointments (tenant_id, id, location_id, client_id, status, source, starts_at, ends_at)
    SELECT :tenant, appointment_id, :location, :client, 'booked', 'front_desk', starts, starts + interval '30 minutes'
      FROM slots
    RETURNING id
)
INSERT INTO appointment_items (tenant_id, id, appointment_id, position, location_id, service_id, staff_id,
                               client_time, staff_time, price_paise)
SELECT :tenant, item_id, appointment_id, 0, :location, (SELECT id FROM service), staff_id,
       tstzrange(starts, starts + interval '30 minutes'),
       tstzmultirange(tstzrange(starts, starts + interval '30 minutes')), 50000
  FROM slots
 WHERE EXISTS (SELECT 1 FROM appointments_made);

-- The salon's client book: 20,000 clients named from 40 first names and 50
-- surnames (each prefix of a first name matches a few hundred of them).
INSERT INTO clients (tenant_id, id, name)
SELECT :tenant, gen_random_uuid(),
       (ARRAY['Aarti','Ananya','Anjali','Deepa','Divya','Gauri','Isha','Kavya','Meera','Neha','Nisha','Pooja',
              'Priya','Radha','Riya','Sakshi','Shreya','Sneha','Tanvi','Vaishnavi','Aditya','Amit','Arjun',
              'Girish','Harsh','Karan','Manish','Nikhil','Omkar','Pranav','Rahul','Rohan','Sahil','Sameer',
              'Siddharth','Tejas','Varun','Vikram','Yash','Zubin'])[1 + n % 40] || ' ' ||
       (ARRAY['Apte','Bapat','Bhide','Chitale','Deshmukh','Deshpande','Gadgil','Gokhale','Joshi','Kale',
              'Karve','Kelkar','Khare','Kulkarni','Limaye','Mehta','Nene','Oak','Paranjpe','Patil','Pawar',
              'Phadke','Rane','Sathe','Shinde','Tilak','Vaidya','Wagh','Agarwal','Iyer','Menon','Nair','Rao',
              'Reddy','Shah','Sharma','Singh','Gupta','Verma','Bose','Das','Sen','Ghosh','Naidu','Pillai',
              'Shetty','Hegde','Kamath','Prabhu','Sawant'])[1 + (n / 40) % 50]
  FROM generate_series(1, 20000) n;

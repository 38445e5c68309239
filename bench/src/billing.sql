-- A year of billing at the measured location: :invoices finalized invoices
-- (one service line each, a product on every third; every tenth paid in two
-- parts), spread over the 365
-- days before :first_date, and a product with plenty of stock for checkout.
-- Generated as the superuser with triggers off (it writes finished
-- documents directly; their hashes are not a chain and are not checked here).
SET session_replication_role = replica;

INSERT INTO products (tenant_id, id, sku, name, hsn_code, price_paise, cost_paise)
VALUES (:tenant, gen_random_uuid(), 'BENCH-SHAMPOO', 'Bench shampoo 250 ml', '3305', 45000, 20000);
INSERT INTO stock_levels (tenant_id, location_id, product_id, quantity)
SELECT :tenant, :location, id, 1000000 FROM products WHERE tenant_id = :tenant AND sku = 'BENCH-SHAMPOO';

CREATE TEMPORARY TABLE bench_invoices AS
SELECT n, gen_random_uuid() AS id,
       (date :first_date - 1 - (n % 365)) AS issued_on,
       (SELECT id FROM staff WHERE tenant_id = :tenant ORDER BY display_order OFFSET (n % 20) LIMIT 1) AS staff_id,
       (SELECT id FROM services WHERE tenant_id = :tenant ORDER BY display_order OFFSET (n % 60) LIMIT 1) AS service_id
  FROM generate_series(1, :invoices) n;

INSERT INTO invoices (tenant_id, id, location_id, kind, status, customer_name, place_of_supply, number,
                      financial_year, sequence, issued_on, document_kind, totals, content_hash, finalized_at,
                      payment_status, total_paise, supplier, taxable_paise, tax_paise, lines_total_paise)
SELECT :tenant, id, :location, 'invoice', 'finalized', 'Client ' || (n % 997), '27',
       'BX/' || lpad(n::text, 12, '0'), 2000 + n / 100000, n, issued_on, 'tax_invoice',
       jsonb_build_object('grand_total', 105000 + 47250 * (n % 3 = 0)::int), sha256(n::text::bytea),
       issued_on + time '18:00', 'paid', 105000 + 47250 * (n % 3 = 0)::int,
       '{"name": "Benchmark Salon"}', 100000 + 45000 * (n % 3 = 0)::int, 5000 + 2250 * (n % 3 = 0)::int,
       105000 + 47250 * (n % 3 = 0)::int
  FROM bench_invoices;

INSERT INTO invoice_lines (tenant_id, invoice_id, position, kind, description, code, quantity, unit_price_paise,
                           staff_id, service_id, line_discount_paise, invoice_discount_paise, taxable_paise,
                           rate_bp, cgst_paise, sgst_paise, igst_paise, total_paise)
SELECT :tenant, id, 0, 'service', 'Service', '999721', 1, 105000, staff_id, service_id, 0, 0, 100000,
       500, 2500, 2500, 0, 105000
  FROM bench_invoices;
INSERT INTO invoice_lines (tenant_id, invoice_id, position, kind, description, code, quantity, unit_price_paise,
                           product_id, staff_id, line_discount_paise, invoice_discount_paise, taxable_paise,
                           rate_bp, cgst_paise, sgst_paise, igst_paise, total_paise)
SELECT :tenant, b.id, 1, 'product', 'Bench shampoo 250 ml', '3305', 1, 47250,
       (SELECT id FROM products WHERE tenant_id = :tenant AND sku = 'BENCH-SHAMPOO'), b.staff_id, 0, 0, 45000,
       500, 1125, 1125, 0, 47250
  FROM bench_invoices b WHERE b.n % 3 = 0;

INSERT INTO payments (tenant_id, id, invoice_id, location_id, kind, method, amount_paise, received_at)
SELECT :tenant, gen_random_uuid(), id, :location, 'payment',
       (ARRAY['upi', 'card', 'cash'])[1 + n % 3], 105000 + 47250 * (n % 3 = 0)::int, issued_on + time '18:05'
  FROM bench_invoices WHERE n % 10 <> 0;
-- Every tenth is split: ₹500 in cash, the rest by card.
INSERT INTO payments (tenant_id, id, invoice_id, location_id, kind, method, amount_paise, received_at)
SELECT :tenant, gen_random_uuid(), id, :location, 'payment', part.method, part.amount, issued_on + time '18:05'
  FROM bench_invoices
 CROSS JOIN LATERAL (VALUES ('cash', 50000), ('card', 105000 + 47250 * (n % 3 = 0)::int - 50000)) part (method, amount)
 WHERE n % 10 = 0;

DROP TABLE bench_invoices;
SET session_replication_role = DEFAULT;

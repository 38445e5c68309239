-- An invoice's payments are read on every view of it and on every payment
-- (the amount due); without this index each read scans all payments.
CREATE INDEX payments_by_invoice ON payments (tenant_id, invoice_id);

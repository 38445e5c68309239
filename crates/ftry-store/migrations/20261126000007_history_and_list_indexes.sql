-- Reads that grow with a business's history, each given an index that
-- leads with the tenant (row-level security adds `tenant_id = ...`).

-- Credit notes of an invoice (what is left to credit).
CREATE INDEX invoices_by_original ON invoices (tenant_id, original_id) WHERE original_id IS NOT NULL;
-- A branch's invoices and credit notes, drafts included, newest first.
CREATE INDEX invoices_by_location ON invoices (tenant_id, location_id, id);
-- A branch's stock movements, newest first.
CREATE INDEX stock_movements_by_location ON stock_movements (tenant_id, location_id, id);
-- An appointment's history.
CREATE INDEX appointment_events_by_appointment ON appointment_events (tenant_id, appointment_id, id);
-- The calendar: appointments that end after the start of the window (an
-- appointment has no bounded length, so its start alone cannot bound it).
CREATE INDEX appointments_by_location_end ON appointments (tenant_id, location_id, ends_at);

-- A receipt: the client's copy of a finalized invoice, by email, with a
-- signed link to its PDF. It is about an invoice, which need not belong to
-- a visit (a walk-in sale).
ALTER TABLE notifications
    ALTER COLUMN appointment_id DROP NOT NULL,
    ALTER COLUMN appointment_start DROP NOT NULL,
    ADD COLUMN invoice_id uuid,
    ADD FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id);
ALTER TABLE notifications DROP CONSTRAINT notifications_event_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_event_check
    CHECK (event IN ('booking_confirmed', 'reminder', 'rescheduled', 'cancelled', 'no_show_follow_up', 'receipt'));
ALTER TABLE notifications ADD CONSTRAINT notifications_subject CHECK (
    CASE WHEN event = 'receipt' THEN invoice_id IS NOT NULL
         ELSE appointment_id IS NOT NULL AND appointment_start IS NOT NULL END);
CREATE INDEX notifications_of_invoice ON notifications (tenant_id, invoice_id) WHERE invoice_id IS NOT NULL;

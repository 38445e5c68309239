-- The messages a business sends its clients about their visits: one row per
-- message, planned when the visit's event is handled (a confirmation now,
-- reminders before the visit) and sent by a job at `send_at`. No address or
-- text is stored: both are rendered from the client and the visit when the
-- message goes out, so a reminder for a visit that was cancelled or moved
-- is skipped, and an address changed in the meantime is used.
CREATE TABLE notifications (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    id                  uuid NOT NULL,
    appointment_id      uuid NOT NULL,
    client_id           uuid NOT NULL,
    event               text NOT NULL CHECK (event IN ('booking_confirmed', 'reminder', 'rescheduled', 'cancelled')),
    channel             text NOT NULL CHECK (channel IN ('email', 'whatsapp', 'sms')),
    -- The visit's start this message was planned for.
    appointment_start   timestamptz NOT NULL,
    send_at             timestamptz NOT NULL,
    status              text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
    reason              text,
    provider            text,
    provider_message_id text,
    attempts            integer NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    sent_at             timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
);
CREATE INDEX notifications_of_appointment ON notifications (tenant_id, appointment_id, send_at);
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (tenant_id = (SELECT ftry_current_tenant()))
    WITH CHECK (tenant_id = (SELECT ftry_current_tenant()));

-- The mail outbox becomes a transactional outbox: a message is written in
-- the transaction that causes it and, when SMTP is configured, delivered by
-- a job that records the outcome here.
ALTER TABLE outbox_messages
    ADD COLUMN delivered_at   timestamptz,
    ADD COLUMN delivery_error text;

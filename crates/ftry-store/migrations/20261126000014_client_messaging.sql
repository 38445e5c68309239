-- The channels a client asked not to be messaged on; messages about their
-- visits skip them, checked again when each message goes out.
ALTER TABLE clients ADD COLUMN opted_out_channels text[] NOT NULL DEFAULT '{}'
    CHECK (opted_out_channels <@ ARRAY['email', 'whatsapp', 'sms']);

-- A follow-up after a missed visit (marketing: only with the client's
-- consent).
ALTER TABLE notifications DROP CONSTRAINT notifications_event_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_event_check
    CHECK (event IN ('booking_confirmed', 'reminder', 'rescheduled', 'cancelled', 'no_show_follow_up'));

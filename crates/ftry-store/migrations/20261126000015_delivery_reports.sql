-- What a provider later reports about a message it took: delivered, read,
-- or not delivered after all.
ALTER TABLE notifications
    ADD COLUMN delivery_status    text CHECK (delivery_status IN ('sent', 'delivered', 'read', 'undelivered', 'failed')),
    ADD COLUMN delivery_status_at timestamptz,
    ADD COLUMN delivery_error     text;

-- A provider's report names its own message id, not the business: this
-- platform table (ids only, no personal data) finds the message it is
-- about. Written in the transaction that records the message as sent.
CREATE TABLE provider_messages (
    provider            text NOT NULL,
    provider_message_id text NOT NULL,
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    notification_id     uuid NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, provider_message_id)
);

-- Outbound webhooks: a business registers endpoints and picks the events
-- they receive. Each event an endpoint subscribes to becomes one delivery,
-- planned in the transaction that handles the event and sent by a job; the
-- body is stored, so every retry sends the same bytes.
CREATE TABLE webhook_endpoints (
    tenant_id            uuid NOT NULL REFERENCES tenants (id),
    id                   uuid NOT NULL,
    url                  text NOT NULL,
    description          text NOT NULL DEFAULT '',
    -- Event names (`appointment.booked`) or groups (`appointment.*`).
    events               text[] NOT NULL CHECK (cardinality(events) > 0),
    -- The signing secret, sealed with the data-protection key.
    secret_key_id        text NOT NULL,
    secret_sealed        bytea NOT NULL,
    enabled              boolean NOT NULL DEFAULT true,
    -- Failed attempts in a row, and when the first of them happened.
    consecutive_failures integer NOT NULL DEFAULT 0,
    failing_since        timestamptz,
    disabled_at          timestamptz,
    disabled_reason      text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE webhook_deliveries (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    endpoint_id     uuid NOT NULL,
    event_id        uuid NOT NULL,
    event           text NOT NULL,
    body            jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'abandoned')),
    attempts        integer NOT NULL DEFAULT 0,
    response_status integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, endpoint_id, event_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_of_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC);

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_endpoints
    USING (tenant_id = (SELECT ftry_current_tenant()))
    WITH CHECK (tenant_id = (SELECT ftry_current_tenant()));
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_deliveries
    USING (tenant_id = (SELECT ftry_current_tenant()))
    WITH CHECK (tenant_id = (SELECT ftry_current_tenant()));

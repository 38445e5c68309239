-- A business's own messages to clients: when reminders go out, its quiet
-- hours, the language it writes in, and its wording of each message per
-- channel and language. Without a row, the installation's settings and
-- ftry's built-in English wording apply.
CREATE TABLE message_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    -- Hours before the visit; empty: no reminders.
    reminder_hours integer[] NOT NULL
        CHECK (cardinality(reminder_hours) <= 5 AND 1 <= ALL (reminder_hours) AND 336 >= ALL (reminder_hours)),
    -- Local hours in which no reminder lands, `21:00-08:00`.
    quiet_hours text NOT NULL CHECK (quiet_hours ~ '^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$'),
    language text NOT NULL DEFAULT 'en' CHECK (language ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
    -- India's DLT: the business's registered sender entity (its SMS
    -- templates carry their own template ids).
    dlt_entity_id text CHECK (dlt_entity_id ~ '^[0-9]{1,30}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE message_templates (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event text NOT NULL CHECK (event IN ('booking_confirmed', 'reminder', 'rescheduled', 'cancelled',
                                         'no_show_follow_up', 'receipt')),
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'whatsapp')),
    language text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[A-Z]{2})?$'),
    -- Email: the subject line.
    subject text CHECK (length(subject) <= 300),
    -- Email and SMS: the text; WhatsApp: the approved template's body
    -- parameters, one per line.
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    -- WhatsApp: the approved template's name; MSG91: its template id.
    provider_template text CHECK (length(provider_template) BETWEEN 1 AND 512),
    -- SMS in India: the id DLT registered this text under.
    dlt_template_id text CHECK (dlt_template_id ~ '^[0-9]{1,30}$'),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event, channel, language),
    CHECK (event <> 'receipt' OR channel = 'email'),
    CHECK ((channel = 'email') = (subject IS NOT NULL))
);

ALTER TABLE message_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON message_settings
    USING (tenant_id = (SELECT ftry_current_tenant()))
    WITH CHECK (tenant_id = (SELECT ftry_current_tenant()));
ALTER TABLE message_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON message_templates
    USING (tenant_id = (SELECT ftry_current_tenant()))
    WITH CHECK (tenant_id = (SELECT ftry_current_tenant()));

-- The language a client reads their messages in; NULL: the business's.
ALTER TABLE clients ADD COLUMN language text CHECK (language ~ '^[a-z]{2,3}(-[A-Z]{2})?$');

-- Clients (the salon's CRM). Phone and email are personal data: they are
-- stored only as AES-256-GCM ciphertexts (nonce || ciphertext || tag) with
-- the id of the key that sealed them, so keys can rotate, plus a blind index
-- (HMAC-SHA256 under a separate key) that finds a client by exact phone or
-- email without decrypting anything. The keys never live in this database.

-- Tags are short, trimmed, lowercase labels, each at most once.
CREATE FUNCTION ftry_client_tags_valid(tags text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
        SELECT cardinality(tags) <= 20
           AND coalesce(bool_and(length(t) BETWEEN 1 AND 40 AND t = lower(btrim(t))), true)
           AND count(DISTINCT t) = count(t)
          FROM unnest(tags) AS t
    $$;

CREATE TABLE clients (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    id                  uuid NOT NULL,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200 AND name = btrim(name)),
    -- Prefix search: lowercase, computed by the database so it cannot drift.
    name_search         text GENERATED ALWAYS AS (lower(name)) STORED,
    phone_ciphertext    bytea CHECK (length(phone_ciphertext) BETWEEN 29 AND 128),
    phone_key_id        text CHECK (phone_key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    phone_index         bytea CHECK (length(phone_index) = 32),
    email_ciphertext    bytea CHECK (length(email_ciphertext) BETWEEN 29 AND 512),
    email_key_id        text CHECK (email_key_id ~ '^[A-Za-z0-9._-]{1,64}$'),
    email_index         bytea CHECK (length(email_index) = 32),
    gender              text CHECK (gender IN ('female', 'male', 'non_binary', 'other', 'prefer_not_to_say')),
    birthday            date CHECK (birthday >= date '1900-01-01'),
    notes               text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    tags                text[] NOT NULL DEFAULT '{}' CHECK (ftry_client_tags_valid(tags)),
    allergies           text NOT NULL DEFAULT '' CHECK (length(allergies) <= 2000),
    consent_notes       text NOT NULL DEFAULT '' CHECK (length(consent_notes) <= 2000),
    marketing_consent   boolean NOT NULL DEFAULT false,
    consent_at          timestamptz,
    consent_channel     text CHECK (consent_channel IN ('in_person', 'phone', 'online', 'whatsapp', 'sms',
                                                        'email', 'paper_form')),
    -- The foreign key to staff is added by the scheduling migration.
    preferred_staff_id  uuid,
    merged_into         uuid,
    merged_at           timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, merged_into) REFERENCES clients (tenant_id, id),
    -- A sealed value always has its key id and its index, and nothing else does.
    CONSTRAINT clients_phone_sealed CHECK (
        (phone_ciphertext IS NULL) = (phone_key_id IS NULL) AND (phone_ciphertext IS NULL) = (phone_index IS NULL)),
    CONSTRAINT clients_email_sealed CHECK (
        (email_ciphertext IS NULL) = (email_key_id IS NULL) AND (email_ciphertext IS NULL) = (email_index IS NULL)),
    -- Consent to marketing records when and how it was given; without it, neither.
    CONSTRAINT clients_consent_recorded CHECK (
        marketing_consent = (consent_at IS NOT NULL) AND marketing_consent = (consent_channel IS NOT NULL)),
    CONSTRAINT clients_merge_recorded CHECK (
        (merged_into IS NULL) = (merged_at IS NULL) AND merged_into IS DISTINCT FROM id)
);
-- One live client per phone number in a business; merged duplicates keep theirs.
CREATE UNIQUE INDEX clients_phone_unique ON clients (tenant_id, phone_index)
    WHERE merged_into IS NULL AND phone_index IS NOT NULL;
CREATE INDEX clients_by_email ON clients (tenant_id, email_index)
    WHERE merged_into IS NULL AND email_index IS NOT NULL;
CREATE INDEX clients_by_name ON clients (tenant_id, name_search text_pattern_ops, id)
    WHERE merged_into IS NULL;
CREATE INDEX clients_by_merged_into ON clients (tenant_id, merged_into) WHERE merged_into IS NOT NULL;
ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
ALTER TABLE clients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON clients
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

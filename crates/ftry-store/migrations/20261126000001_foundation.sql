-- Foundation: application-role privileges, tenant context, tenants and locations.
--
-- Migrations run as the owner role. The running service connects as a member
-- of `ftry_app`, which owns nothing, is not a superuser and cannot bypass
-- row-level security; it gets data privileges on every table created here.

GRANT USAGE ON SCHEMA public TO ftry_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ftry_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO ftry_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT EXECUTE ON FUNCTIONS TO ftry_app;

-- The tenant of the current transaction, set with
-- set_config('ftry.tenant_id', <uuid>, true). NULL when unset, so a
-- forgotten tenant context matches no row instead of every row.
CREATE FUNCTION ftry_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('ftry.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE
                CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) BETWEEN 2 AND 63),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
    USING (id = ftry_current_tenant())
    WITH CHECK (id = ftry_current_tenant());

CREATE TABLE locations (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    address     text NOT NULL DEFAULT '',
    state_code  text NOT NULL CHECK (state_code ~ '^[0-9]{2}$'),
    gstin       text CHECK (gstin ~ '^[0-9]{2}[A-Z0-9]{13}$'),
    timezone    text NOT NULL DEFAULT 'Asia/Kolkata',
    currency    text NOT NULL DEFAULT 'INR' CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE locations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON locations
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

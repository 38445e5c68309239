-- Identity and access: plan limits, users, roles, sessions, one-time tokens,
-- the development mail outbox, audit logs and platform operators.

-- Tenants are the registry of businesses: every tenant's slug, name and
-- status are readable (login and public booking pages resolve slugs before
-- any tenant is known); only a transaction in a tenant's own context can
-- create or change its row.
ALTER TABLE tenants
    ADD COLUMN max_users      integer NOT NULL DEFAULT 25 CHECK (max_users > 0),
    ADD COLUMN max_locations  integer NOT NULL DEFAULT 5 CHECK (max_locations > 0),
    ADD COLUMN status_reason  text CHECK (length(status_reason) <= 500),
    ADD COLUMN status_changed_at timestamptz;
DROP POLICY tenant_isolation ON tenants;
CREATE POLICY registry_read ON tenants FOR SELECT USING (true);
CREATE POLICY own_insert ON tenants FOR INSERT WITH CHECK (id = ftry_current_tenant());
CREATE POLICY own_update ON tenants FOR UPDATE
    USING (id = ftry_current_tenant()) WITH CHECK (id = ftry_current_tenant());

CREATE TABLE users (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    email           text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254),
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    phone           text CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
    password_hash   text,
    status          text NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
    failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email),
    CHECK (status = 'invited' OR password_hash IS NOT NULL)
);
CREATE INDEX users_by_email ON users (email);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());
-- Login knows an email before it knows the tenant: a transaction that states
-- the exact address it looks for (ftry.login_email) sees that address's
-- accounts in every tenant, and nothing else. No listing is possible.
CREATE POLICY login_lookup ON users FOR SELECT
    USING (email = NULLIF(current_setting('ftry.login_email', true), ''));

-- The permission catalog is code (ftry_domain::permissions), copied here by
-- `ftry migrate` so that custom roles can only hold real permissions.
CREATE TABLE permissions (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z_]+:[a-z_]+$'),
    description text NOT NULL
);
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON permissions FROM ftry_app;

CREATE TABLE roles (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    name        text NOT NULL CHECK (name ~ '^[a-z0-9]+([ _-][a-z0-9]+)*$' AND length(name) <= 50),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- Built-in roles take their permissions from the code; custom roles from role_permissions.
    builtin     text CHECK (builtin IN ('owner', 'admin', 'manager', 'receptionist', 'stylist')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, builtin)
);
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON roles
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

CREATE TABLE role_permissions (
    tenant_id   uuid NOT NULL,
    role_id     uuid NOT NULL,
    permission  text NOT NULL REFERENCES permissions (name),
    PRIMARY KEY (tenant_id, role_id, permission),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_permissions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON role_permissions
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

CREATE TABLE user_roles (
    tenant_id   uuid NOT NULL,
    user_id     uuid NOT NULL,
    role_id     uuid NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id)
);
CREATE INDEX user_roles_by_role ON user_roles (tenant_id, role_id);
ALTER TABLE user_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_roles
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

-- A session is one login on one device: a family of refresh tokens, each
-- used once. Presenting a used one revokes the whole session.
CREATE TABLE sessions (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    revoked_reason  text CHECK (revoked_reason IN ('logout', 'logout_all', 'revoked', 'token_reuse', 'password_reset', 'user_disabled')),
    ip              inet,
    user_agent      text CHECK (length(user_agent) <= 500),
    impersonator_id uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_by_user ON sessions (tenant_id, user_id);
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

CREATE TABLE refresh_tokens (
    tenant_id   uuid NOT NULL,
    token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
    session_id  uuid NOT NULL,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at  timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refresh_tokens
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

-- Single-use, expiring links: invitations and password resets. Only the
-- SHA-256 of the secret is stored.
CREATE TABLE user_tokens (
    tenant_id   uuid NOT NULL,
    token_hash  bytea NOT NULL CHECK (length(token_hash) = 32),
    user_id     uuid NOT NULL,
    purpose     text NOT NULL CHECK (purpose IN ('invite', 'password_reset')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
ALTER TABLE user_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_tokens
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

-- Mail that would be sent, kept for the operator and tests until real
-- delivery is configured.
CREATE TABLE outbox_messages (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    recipient   text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE outbox_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_messages
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());

-- The audit log: append-only for the service (no UPDATE or DELETE), written
-- in the same transaction as the change it records.
CREATE TABLE audit_events (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor_type      text NOT NULL CHECK (actor_type IN ('user', 'platform_admin', 'system', 'anonymous')),
    actor_id        uuid,
    impersonator_id uuid,
    action          text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    resource_type   text NOT NULL,
    resource_id     text,
    before          jsonb,
    after           jsonb,
    outcome         text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    ip              inet,
    user_agent      text,
    request_id      text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_events_by_action ON audit_events (tenant_id, action, id);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events
    USING (tenant_id = ftry_current_tenant())
    WITH CHECK (tenant_id = ftry_current_tenant());
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM ftry_app;

-- Platform operators: not tenant users. Created by `ftry admin create`
-- through the owner connection; the service can only read them and count
-- failed logins.
CREATE TABLE platform_admins (
    id              uuid PRIMARY KEY,
    email           text NOT NULL UNIQUE CHECK (email = lower(email)),
    name            text NOT NULL,
    password_hash   text NOT NULL,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON platform_admins FROM ftry_app;
GRANT UPDATE (failed_logins, locked_until) ON platform_admins TO ftry_app;

-- Events with no tenant (platform operators' actions, logins to unknown
-- addresses); cross-tenant reads are recorded here too.
CREATE TABLE platform_audit_events (
    id              uuid PRIMARY KEY,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor_type      text NOT NULL CHECK (actor_type IN ('platform_admin', 'system', 'anonymous')),
    actor_id        uuid,
    tenant_id       uuid REFERENCES tenants (id),
    action          text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    resource_type   text NOT NULL,
    resource_id     text,
    before          jsonb,
    after           jsonb,
    outcome         text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    ip              inet,
    user_agent      text,
    request_id      text
);
REVOKE UPDATE, DELETE, TRUNCATE ON platform_audit_events FROM ftry_app;

-- Keys that sign access tokens when none are configured: generated once and
-- shared by every node through the database.
CREATE TABLE signing_keys (
    id          text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    secret      bytea NOT NULL CHECK (length(secret) >= 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
REVOKE UPDATE, DELETE, TRUNCATE ON signing_keys FROM ftry_app;

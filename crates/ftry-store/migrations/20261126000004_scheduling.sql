-- Scheduling: tax classes, booking rules and hours of locations, the service
-- catalog, staff and their schedules, resources, appointments and their
-- items, and idempotency keys. No staff member and no capacity-1 resource can
-- ever be double-booked: exclusion constraints below guarantee it whatever
-- the application does.

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Tax classes (SAC/HSN codes) and their rates over time: reference data,
-- readable by the service, written only by migrations.
CREATE TABLE tax_classes (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{4,8}$'),
    kind        text NOT NULL CHECK (kind IN ('service', 'goods')),
    description text NOT NULL
);
CREATE TABLE tax_rates (
    code            text NOT NULL REFERENCES tax_classes (code),
    effective_from  date NOT NULL,
    rate_bp         integer NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    note            text NOT NULL DEFAULT '',
    PRIMARY KEY (code, effective_from)
);
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON tax_classes, tax_rates FROM ftry_app;
INSERT INTO tax_classes (code, kind, description) VALUES
    ('999721', 'service', 'Hairdressing and barbers'' services'),
    ('999722', 'service', 'Cosmetic treatment, manicure and pedicure services'),
    ('999723', 'service', 'Physical well-being services (spa, massage, fitness)'),
    ('999729', 'service', 'Other beauty treatment services');
INSERT INTO tax_rates (code, effective_from, rate_bp, note)
SELECT code, date '2017-07-01', 1800, 'GST on beauty and well-being services' FROM tax_classes
UNION ALL
SELECT code, date '2025-09-22', 500, 'GST rationalisation: 5% without input tax credit' FROM tax_classes;

-- Booking rules of a location.
ALTER TABLE locations
    ADD COLUMN online_booking      boolean NOT NULL DEFAULT true,
    ADD COLUMN min_notice_minutes  integer NOT NULL DEFAULT 60 CHECK (min_notice_minutes BETWEEN 0 AND 20160),
    ADD COLUMN max_days_ahead      integer NOT NULL DEFAULT 60 CHECK (max_days_ahead BETWEEN 0 AND 365),
    ADD COLUMN slot_step_minutes   integer NOT NULL DEFAULT 15 CHECK (slot_step_minutes IN (5, 10, 15, 20, 30, 60)),
    ADD COLUMN cancellation_window_minutes integer NOT NULL DEFAULT 240
        CHECK (cancellation_window_minutes BETWEEN 0 AND 20160);

-- Weekly opening hours (wall clock in the location's zone, minutes after
-- midnight; ISO weekday 1 = Monday); several intervals a day, never overlapping.
CREATE TABLE location_hours (
    tenant_id   uuid NOT NULL,
    location_id uuid NOT NULL,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens       smallint NOT NULL CHECK (opens BETWEEN 0 AND 1439),
    closes      smallint NOT NULL CHECK (closes BETWEEN 1 AND 1440),
    CHECK (opens < closes),
    PRIMARY KEY (tenant_id, location_id, weekday, opens),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id) ON DELETE CASCADE,
    EXCLUDE USING gist (tenant_id WITH =, location_id WITH =, weekday WITH =, int4range(opens, closes) WITH &&)
);

CREATE TABLE location_closures (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    location_id uuid NOT NULL,
    first_day   date NOT NULL,
    last_day    date NOT NULL,
    reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    CHECK (first_day <= last_day),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE service_categories (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    display_order integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE services (
    tenant_id                 uuid NOT NULL REFERENCES tenants (id),
    id                        uuid NOT NULL,
    category_id               uuid,
    name                      text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    description               text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    duration_minutes          integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    buffer_before_minutes     integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 240),
    buffer_after_minutes      integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 240),
    processing_offset_minutes integer,
    processing_minutes        integer,
    price_paise               bigint NOT NULL CHECK (price_paise BETWEEN 0 AND 100000000),
    currency                  text NOT NULL DEFAULT 'INR' CHECK (currency ~ '^[A-Z]{3}$'),
    tax_code                  text NOT NULL REFERENCES tax_classes (code),
    resource_type             text CHECK (resource_type ~ '^[a-z0-9_-]{1,40}$'),
    online_bookable           boolean NOT NULL DEFAULT true,
    active                    boolean NOT NULL DEFAULT true,
    display_order             integer NOT NULL DEFAULT 0,
    created_at                timestamptz NOT NULL DEFAULT now(),
    CHECK ((processing_offset_minutes IS NULL) = (processing_minutes IS NULL)),
    CHECK (processing_offset_minutes IS NULL OR (processing_offset_minutes > 0 AND processing_minutes > 0
           AND processing_offset_minutes + processing_minutes < duration_minutes)),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, category_id) REFERENCES service_categories (tenant_id, id)
);

-- Where a service is offered.
CREATE TABLE service_locations (
    tenant_id   uuid NOT NULL,
    service_id  uuid NOT NULL,
    location_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, service_id, location_id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE staff (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    user_id         uuid,
    name            text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    title           text NOT NULL DEFAULT '' CHECK (length(title) <= 80),
    colour          text NOT NULL DEFAULT '#7c4dff' CHECK (colour ~ '^#[0-9a-f]{6}$'),
    display_order   integer NOT NULL DEFAULT 0,
    active          boolean NOT NULL DEFAULT true,
    bookable_online boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

-- Which services a staff member performs, with their own price and duration.
CREATE TABLE staff_services (
    tenant_id        uuid NOT NULL,
    staff_id         uuid NOT NULL,
    service_id       uuid NOT NULL,
    price_paise      bigint CHECK (price_paise BETWEEN 0 AND 100000000),
    duration_minutes integer CHECK (duration_minutes BETWEEN 5 AND 720),
    PRIMARY KEY (tenant_id, staff_id, service_id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id) ON DELETE CASCADE
);

-- Weekly working hours and breaks per location (wall clock, like location_hours).
CREATE TABLE staff_hours (
    tenant_id   uuid NOT NULL,
    staff_id    uuid NOT NULL,
    location_id uuid NOT NULL,
    weekday     smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    kind        text NOT NULL CHECK (kind IN ('work', 'break')),
    starts      smallint NOT NULL CHECK (starts BETWEEN 0 AND 1439),
    ends        smallint NOT NULL CHECK (ends BETWEEN 1 AND 1440),
    CHECK (starts < ends),
    PRIMARY KEY (tenant_id, staff_id, location_id, weekday, kind, starts),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id) ON DELETE CASCADE,
    -- Nobody works two overlapping shifts, at one location or two.
    EXCLUDE USING gist (tenant_id WITH =, staff_id WITH =, weekday WITH =, kind WITH =,
                        int4range(starts, ends) WITH &&)
);

CREATE TABLE time_off (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    staff_id    uuid NOT NULL,
    period      tstzrange NOT NULL CHECK (NOT isempty(period) AND lower_inc(period) AND NOT upper_inc(period)),
    reason      text NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id) ON DELETE CASCADE,
    EXCLUDE USING gist (tenant_id WITH =, staff_id WITH =, period WITH &&)
);

CREATE TABLE resources (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    location_id   uuid NOT NULL,
    name          text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 80),
    resource_type text NOT NULL CHECK (resource_type ~ '^[a-z0-9_-]{1,40}$'),
    capacity      integer NOT NULL DEFAULT 1 CHECK (capacity BETWEEN 1 AND 100),
    active        boolean NOT NULL DEFAULT true,
    display_order integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);

ALTER TABLE clients
    ADD FOREIGN KEY (tenant_id, preferred_staff_id) REFERENCES staff (tenant_id, id);

CREATE TABLE appointments (
    tenant_id         uuid NOT NULL REFERENCES tenants (id),
    id                uuid NOT NULL,
    location_id       uuid NOT NULL,
    client_id         uuid NOT NULL,
    status            text NOT NULL CHECK (status IN ('booked', 'confirmed', 'checked_in', 'in_service',
                                                      'completed', 'cancelled', 'no_show')),
    source            text NOT NULL CHECK (source IN ('front_desk', 'online', 'walk_in')),
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    notes             text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000),
    cancel_reason     text CHECK (length(cancel_reason) <= 500),
    cancelled_by      text,
    cancelled_at      timestamptz,
    manage_token_hash bytea,
    created_by        uuid,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (starts_at < ends_at),
    CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
);
CREATE INDEX appointments_by_location_time ON appointments (tenant_id, location_id, starts_at);
CREATE INDEX appointments_by_client ON appointments (tenant_id, client_id, starts_at);
CREATE UNIQUE INDEX appointments_by_manage_token ON appointments (manage_token_hash) WHERE manage_token_hash IS NOT NULL;

-- One service performed by one staff member, optionally on one resource.
-- `client_time` is when the client (and the resource) is busy; `staff_time`
-- is when the staff member is: buffers included, processing gap excluded.
-- `active` is false once the appointment is cancelled or a no-show, which
-- frees the time at once.
CREATE TABLE appointment_items (
    tenant_id          uuid NOT NULL,
    id                 uuid NOT NULL,
    appointment_id     uuid NOT NULL,
    position           smallint NOT NULL CHECK (position BETWEEN 0 AND 19),
    location_id        uuid NOT NULL,
    service_id         uuid NOT NULL,
    staff_id           uuid NOT NULL,
    resource_id        uuid,
    resource_exclusive boolean NOT NULL DEFAULT false,
    client_time        tstzrange NOT NULL CHECK (NOT isempty(client_time)),
    staff_time         tstzmultirange NOT NULL CHECK (NOT isempty(staff_time)),
    price_paise        bigint NOT NULL CHECK (price_paise >= 0),
    active             boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, appointment_id, position),
    CHECK (resource_exclusive = false OR resource_id IS NOT NULL),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id),
    FOREIGN KEY (tenant_id, resource_id) REFERENCES resources (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    -- A staff member is never booked twice at once (items of one visit may
    -- touch each other's buffers).
    CONSTRAINT no_double_booked_staff EXCLUDE USING gist (
        tenant_id WITH =, staff_id WITH =, staff_time WITH &&, appointment_id WITH <>) WHERE (active),
    -- A capacity-1 resource is never used twice at once.
    CONSTRAINT no_double_booked_resource EXCLUDE USING gist (
        tenant_id WITH =, resource_id WITH =, client_time WITH &&) WHERE (active AND resource_exclusive)
);
-- Whether an item holds its resource alone is the resource's to say (capacity
-- 1), not the writer's: the flag is set here, so the constraint above holds
-- whatever the application claims.
CREATE FUNCTION ftry_item_resource_exclusive() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.resource_exclusive := NEW.resource_id IS NOT NULL AND EXISTS (
        SELECT 1 FROM resources r
         WHERE r.tenant_id = NEW.tenant_id AND r.id = NEW.resource_id AND r.capacity = 1);
    RETURN NEW;
END $$;
CREATE TRIGGER appointment_items_resource_exclusive
    BEFORE INSERT OR UPDATE OF resource_id, resource_exclusive ON appointment_items
    FOR EACH ROW EXECUTE FUNCTION ftry_item_resource_exclusive();
CREATE INDEX appointment_items_by_location_time ON appointment_items USING gist (tenant_id, location_id, client_time)
    WHERE active;
-- Availability reads each staff member's busy time for a few weeks: by start,
-- with the busy time itself in the index so the rows need not be fetched.
-- The start is a plain column because under row-level security only
-- leakproof comparisons (timestamptz <, >=) can be index conditions, and
-- range operators are not leakproof.
ALTER TABLE appointment_items ADD COLUMN starts_at timestamptz GENERATED ALWAYS AS (lower(client_time)) STORED;
CREATE INDEX appointment_items_staff_busy ON appointment_items (tenant_id, staff_id, starts_at)
    INCLUDE (staff_time, appointment_id) WHERE active;
CREATE INDEX appointment_items_resource_use ON appointment_items (tenant_id, location_id, starts_at)
    INCLUDE (resource_id, client_time, appointment_id) WHERE active AND resource_id IS NOT NULL;

-- What happened to an appointment: creation, each status change, each move.
CREATE TABLE appointment_events (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    appointment_id  uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('created', 'status_changed', 'rescheduled', 'cancelled')),
    from_status     text,
    to_status       text,
    details         jsonb NOT NULL DEFAULT '{}',
    actor           text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id) ON DELETE CASCADE
);

-- Retried create requests return their first answer.
CREATE TABLE idempotency_keys (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    scope           text NOT NULL,
    fingerprint     bytea NOT NULL,
    response_status smallint NOT NULL,
    response_body   jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, scope, key)
);

-- Things that happened, for other parts of ftry to react to (notifications
-- turn `appointment.booked` into a confirmation). Written in the transaction
-- of the change, so an event exists exactly when its change committed.
CREATE TABLE domain_events (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    kind         text NOT NULL CHECK (kind ~ '^[a-z_]+\.[a-z_]+$'),
    subject_id   uuid NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX domain_events_unprocessed ON domain_events (created_at) WHERE processed_at IS NULL;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['location_hours', 'location_closures', 'service_categories', 'services',
        'service_locations', 'staff', 'staff_services', 'staff_hours', 'time_off', 'resources',
        'appointments', 'appointment_items', 'appointment_events', 'idempotency_keys', 'domain_events']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = ftry_current_tenant())
                        WITH CHECK (tenant_id = ftry_current_tenant())', t);
    END LOOP;
END $$;

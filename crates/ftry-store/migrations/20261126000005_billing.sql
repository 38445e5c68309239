-- Billing: GST settings, retail products and stock, invoices and credit
-- notes with gapless numbering and a tamper-evident hash chain, payments and
-- the day-end cash close.

-- How a business charges GST, and how a branch numbers its documents.
ALTER TABLE tenants
    ADD COLUMN gst_registration     text NOT NULL DEFAULT 'regular'
        CHECK (gst_registration IN ('regular', 'composition', 'unregistered')),
    ADD COLUMN prices_include_tax   boolean NOT NULL DEFAULT true,
    ADD COLUMN round_off            boolean NOT NULL DEFAULT true,
    ADD COLUMN allow_negative_stock boolean NOT NULL DEFAULT false;

ALTER TABLE locations ADD COLUMN series_code text CHECK (series_code ~ '^[A-Z0-9]{1,5}$');
UPDATE locations l SET series_code = 'L' || n
  FROM (SELECT tenant_id, id, row_number() OVER (PARTITION BY tenant_id ORDER BY created_at, id) AS n
          FROM locations) numbered
 WHERE numbered.tenant_id = l.tenant_id AND numbered.id = l.id;
ALTER TABLE locations ALTER COLUMN series_code SET NOT NULL;
ALTER TABLE locations ADD CONSTRAINT locations_series_code_unique UNIQUE (tenant_id, series_code);
-- A new branch without a code of its own gets the next "L<n>".
CREATE FUNCTION ftry_default_series_code() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.series_code IS NULL THEN
        NEW.series_code := 'L' || (SELECT count(*) + 1 FROM locations WHERE tenant_id = NEW.tenant_id);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER locations_default_series_code BEFORE INSERT ON locations
    FOR EACH ROW EXECUTE FUNCTION ftry_default_series_code();

-- Goods: HSN codes with their rates over time (services are seeded by the
-- scheduling migration).
INSERT INTO tax_classes (code, kind, description) VALUES
    ('3305', 'goods', 'Preparations for use on the hair (shampoo, conditioner, hair oil)'),
    ('3304', 'goods', 'Beauty, make-up and skin-care preparations'),
    ('3401', 'goods', 'Soap and cleansing preparations');
INSERT INTO tax_rates (code, effective_from, rate_bp, note) VALUES
    ('3305', date '2017-07-01', 1800, 'GST on hair preparations'),
    ('3305', date '2025-09-22', 500, 'GST rationalisation'),
    ('3304', date '2017-07-01', 1800, 'GST on beauty and make-up preparations'),
    ('3401', date '2017-07-01', 1800, 'GST on soap'),
    ('3401', date '2025-09-22', 500, 'GST rationalisation');

CREATE TABLE products (
    tenant_id           uuid NOT NULL REFERENCES tenants (id),
    id                  uuid NOT NULL,
    sku                 text NOT NULL CHECK (sku ~ '^[A-Za-z0-9._-]{1,40}$'),
    barcode             text CHECK (barcode ~ '^[0-9]{8,14}$'),
    name                text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    hsn_code            text NOT NULL REFERENCES tax_classes (code),
    price_paise         bigint NOT NULL CHECK (price_paise BETWEEN 0 AND 100000000),
    cost_paise          bigint NOT NULL DEFAULT 0 CHECK (cost_paise BETWEEN 0 AND 100000000),
    low_stock_threshold integer NOT NULL DEFAULT 0 CHECK (low_stock_threshold >= 0),
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, sku),
    UNIQUE (tenant_id, barcode)
);

CREATE TABLE stock_levels (
    tenant_id   uuid NOT NULL,
    location_id uuid NOT NULL,
    product_id  uuid NOT NULL,
    quantity    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, location_id, product_id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);

-- Stock never goes below zero unless the business allows it. Only a decrease
-- is refused: a receipt into stock left negative while it was allowed still
-- goes in. A tenant the check cannot see counts as not allowing it.
CREATE FUNCTION ftry_stock_not_negative() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.quantity < 0 AND (TG_OP = 'INSERT' OR NEW.quantity < OLD.quantity)
       AND NOT coalesce((SELECT allow_negative_stock FROM tenants WHERE id = NEW.tenant_id), false) THEN
        RAISE EXCEPTION 'stock of product % at location % would be %', NEW.product_id, NEW.location_id, NEW.quantity
            USING ERRCODE = 'check_violation', CONSTRAINT = 'stock_not_negative';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stock_not_negative BEFORE INSERT OR UPDATE ON stock_levels
    FOR EACH ROW EXECUTE FUNCTION ftry_stock_not_negative();

CREATE TABLE stock_movements (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    location_id uuid NOT NULL,
    product_id  uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('purchase', 'sale', 'adjustment', 'return', 'internal_use')),
    quantity    integer NOT NULL CHECK (quantity <> 0),
    reference   uuid,
    note        text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    actor_id    uuid,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id, product_id) REFERENCES stock_levels (tenant_id, location_id, product_id)
);

-- One counter per branch, document kind and financial year: taken under a
-- row lock at finalization, so numbers are consecutive and gapless.
CREATE TABLE invoice_series (
    tenant_id      uuid NOT NULL,
    location_id    uuid NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    financial_year smallint NOT NULL CHECK (financial_year BETWEEN 2000 AND 2200),
    last_sequence  integer NOT NULL DEFAULT 0 CHECK (last_sequence >= 0),
    last_hash      bytea,
    PRIMARY KEY (tenant_id, location_id, kind, financial_year),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);

CREATE TABLE invoices (
    tenant_id          uuid NOT NULL REFERENCES tenants (id),
    id                 uuid NOT NULL,
    location_id        uuid NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    status             text NOT NULL CHECK (status IN ('draft', 'finalized')),
    original_id        uuid,
    appointment_id     uuid,
    client_id          uuid,
    customer_name      text NOT NULL DEFAULT '' CHECK (length(customer_name) <= 200),
    customer_phone     text CHECK (customer_phone ~ '^\+[1-9][0-9]{7,14}$'),
    customer_gstin     text CHECK (customer_gstin ~ '^[0-9]{2}[A-Z0-9]{13}$'),
    customer_address   text NOT NULL DEFAULT '' CHECK (length(customer_address) <= 500),
    place_of_supply    text NOT NULL CHECK (place_of_supply ~ '^[0-9]{2}$'),
    invoice_discount   jsonb,
    discount_approved_by uuid,
    tip_paise          bigint NOT NULL DEFAULT 0 CHECK (tip_paise >= 0),
    tip_staff_id       uuid,
    restock            boolean NOT NULL DEFAULT false,
    reason             text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    -- Set at finalization: the supplier as it was then, the figures, the chain.
    supplier           jsonb,
    number             text CHECK (number ~ '^[A-Za-z0-9/-]{1,16}$'),
    financial_year     smallint,
    sequence           integer,
    issued_on          date,
    document_kind      text CHECK (document_kind IN ('tax_invoice', 'bill_of_supply')),
    totals             jsonb,
    content_hash       bytea,
    previous_hash      bytea,
    finalized_at       timestamptz,
    finalized_by       uuid,
    payment_status     text NOT NULL DEFAULT 'unpaid' CHECK (payment_status IN ('unpaid', 'partially_paid', 'paid')),
    total_paise        bigint NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    created_by         uuid,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, number),
    UNIQUE (tenant_id, location_id, kind, financial_year, sequence),
    CHECK ((status = 'finalized') = (number IS NOT NULL AND content_hash IS NOT NULL)),
    CHECK ((kind = 'credit_note') = (original_id IS NOT NULL)),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
    FOREIGN KEY (tenant_id, original_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id),
    FOREIGN KEY (tenant_id, tip_staff_id) REFERENCES staff (tenant_id, id)
);
CREATE INDEX invoices_by_location_day ON invoices (tenant_id, location_id, issued_on) WHERE status = 'finalized';
-- One live draft or invoice per appointment.
CREATE UNIQUE INDEX invoices_one_per_appointment ON invoices (tenant_id, appointment_id)
    WHERE appointment_id IS NOT NULL AND kind = 'invoice';

CREATE TABLE invoice_lines (
    tenant_id           uuid NOT NULL,
    invoice_id          uuid NOT NULL,
    position            smallint NOT NULL CHECK (position BETWEEN 0 AND 199),
    kind                text NOT NULL CHECK (kind IN ('service', 'product', 'custom')),
    description         text NOT NULL CHECK (length(btrim(description)) BETWEEN 1 AND 200),
    code                text NOT NULL REFERENCES tax_classes (code),
    quantity            integer NOT NULL CHECK (quantity BETWEEN 1 AND 10000),
    unit_price_paise    bigint NOT NULL CHECK (unit_price_paise BETWEEN 0 AND 100000000),
    discount            jsonb,
    discount_approved_by uuid,
    staff_id            uuid,
    service_id          uuid,
    product_id          uuid,
    appointment_item_id uuid,
    original_position   smallint,
    -- Set at finalization:
    line_discount_paise bigint,
    invoice_discount_paise bigint,
    taxable_paise       bigint,
    rate_bp             integer,
    cgst_paise          bigint,
    sgst_paise          bigint,
    igst_paise          bigint,
    total_paise         bigint,
    PRIMARY KEY (tenant_id, invoice_id, position),
    CHECK ((kind = 'product') = (product_id IS NOT NULL)),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id),
    FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);

-- A finalized document is never changed or deleted (its payment status aside).
CREATE FUNCTION ftry_finalized_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'invoices' THEN
        IF OLD.status = 'finalized' AND (TG_OP = 'DELETE' OR
            (to_jsonb(NEW) - 'payment_status') IS DISTINCT FROM (to_jsonb(OLD) - 'payment_status')) THEN
            RAISE EXCEPTION 'invoice % is finalized', OLD.number
                USING ERRCODE = 'check_violation', CONSTRAINT = 'finalized_is_immutable';
        END IF;
    ELSIF (SELECT status FROM invoices
            WHERE tenant_id = coalesce(OLD.tenant_id, NEW.tenant_id) AND id = coalesce(OLD.invoice_id, NEW.invoice_id))
              = 'finalized'
          AND NOT (TG_OP = 'UPDATE' AND OLD.taxable_paise IS NULL) THEN
        RAISE EXCEPTION 'lines of a finalized invoice cannot change'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'finalized_is_immutable';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER invoices_finalized_is_immutable BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION ftry_finalized_is_immutable();
CREATE TRIGGER invoice_lines_finalized_is_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION ftry_finalized_is_immutable();

CREATE TABLE payments (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    invoice_id    uuid NOT NULL,
    location_id   uuid NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('payment', 'refund')),
    method        text NOT NULL CHECK (method IN ('cash', 'card', 'upi', 'bank_transfer', 'wallet', 'other')),
    amount_paise  bigint NOT NULL CHECK (amount_paise > 0),
    tendered_paise bigint CHECK (tendered_paise >= amount_paise),
    change_paise  bigint NOT NULL DEFAULT 0 CHECK (change_paise >= 0),
    reference     text NOT NULL DEFAULT '' CHECK (length(reference) <= 100),
    received_at   timestamptz NOT NULL DEFAULT now(),
    received_by   uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);
CREATE INDEX payments_by_location_time ON payments (tenant_id, location_id, received_at);

-- The day-end close of a branch's till (Z-report).
CREATE TABLE cash_closes (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    location_id    uuid NOT NULL,
    business_day   date NOT NULL,
    expected_cash  bigint NOT NULL,
    counted_cash   bigint NOT NULL CHECK (counted_cash >= 0),
    difference     bigint NOT NULL,
    totals         jsonb NOT NULL,
    note           text NOT NULL DEFAULT '' CHECK (length(note) <= 500),
    closed_by      uuid,
    closed_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, location_id, business_day),
    FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id)
);

-- Payments and closes are records: the service adds, never rewrites.
REVOKE UPDATE, DELETE, TRUNCATE ON payments, cash_closes, stock_movements FROM ftry_app;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['products', 'stock_levels', 'stock_movements', 'invoice_series', 'invoices',
        'invoice_lines', 'payments', 'cash_closes']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = ftry_current_tenant())
                        WITH CHECK (tenant_id = ftry_current_tenant())', t);
    END LOOP;
END $$;

-- Commission: a percentage of the taxable value of the services a staff
-- member performs and of the products they sell.
ALTER TABLE staff
    ADD COLUMN service_commission_bp integer NOT NULL DEFAULT 0 CHECK (service_commission_bp BETWEEN 0 AND 10000),
    ADD COLUMN product_commission_bp integer NOT NULL DEFAULT 0 CHECK (product_commission_bp BETWEEN 0 AND 10000);

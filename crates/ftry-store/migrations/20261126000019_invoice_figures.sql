-- A finalized document's figures on the document itself: the taxable value,
-- the tax (CGST + SGST + IGST) and the lines' total (taxes included; the tip
-- and round-off are apart, as they are not sales). They are the sums of its
-- lines, written with them at finalization, so the revenue by day reads one
-- row per document from an index instead of joining every line of the year.
ALTER TABLE invoices
    ADD COLUMN taxable_paise     bigint,
    ADD COLUMN tax_paise         bigint,
    ADD COLUMN lines_total_paise bigint;

-- Documents finalized before this migration: the sums of their frozen lines,
-- for every business at once. Row-level security is forced on both tables
-- (the owner sees no business's rows without a tenant set), so it is lifted
-- for these statements, and the immutability trigger (it refuses any change
-- to a finalized document) too; the lines are not touched. All of it is
-- one transaction: nothing is visible half-done and both come back below.
ALTER TABLE invoices NO FORCE ROW LEVEL SECURITY;
ALTER TABLE invoice_lines NO FORCE ROW LEVEL SECURITY;
ALTER TABLE invoices DISABLE TRIGGER invoices_finalized_is_immutable;
UPDATE invoices i
   SET taxable_paise = l.taxable, tax_paise = l.tax, lines_total_paise = l.total
  FROM (SELECT tenant_id, invoice_id, COALESCE(sum(taxable_paise), 0) AS taxable,
               COALESCE(sum(cgst_paise + sgst_paise + igst_paise), 0) AS tax,
               COALESCE(sum(total_paise), 0) AS total
          FROM invoice_lines GROUP BY tenant_id, invoice_id) l
 WHERE i.status = 'finalized' AND l.tenant_id = i.tenant_id AND l.invoice_id = i.id;
UPDATE invoices SET taxable_paise = 0, tax_paise = 0, lines_total_paise = 0
 WHERE status = 'finalized' AND taxable_paise IS NULL;
ALTER TABLE invoices ENABLE TRIGGER invoices_finalized_is_immutable;
ALTER TABLE invoice_lines FORCE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;

ALTER TABLE invoices ADD CONSTRAINT invoices_figures_when_finalized
    CHECK (status <> 'finalized' OR (taxable_paise IS NOT NULL AND tax_paise IS NOT NULL
                                     AND lines_total_paise IS NOT NULL));

-- The revenue by day is answered from this index alone (an index-only scan).
DROP INDEX invoices_by_location_day;
CREATE INDEX invoices_by_location_day ON invoices (tenant_id, location_id, issued_on)
    INCLUDE (kind, taxable_paise, tax_paise, lines_total_paise) WHERE status = 'finalized';

//! Invoices and credit notes, their lines, numbering series and payments.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Invoice {
    pub id: Uuid,
    pub location_id: Uuid,
    pub kind: String,
    pub status: String,
    pub original_id: Option<Uuid>,
    pub appointment_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub customer_gstin: Option<String>,
    pub customer_address: String,
    pub place_of_supply: String,
    pub invoice_discount: Option<serde_json::Value>,
    pub discount_approved_by: Option<Uuid>,
    pub tip_paise: i64,
    pub tip_staff_id: Option<Uuid>,
    pub restock: bool,
    pub reason: String,
    pub supplier: Option<serde_json::Value>,
    pub number: Option<String>,
    pub financial_year: Option<i16>,
    pub sequence: Option<i32>,
    pub issued_on: Option<NaiveDate>,
    pub document_kind: Option<String>,
    pub totals: Option<serde_json::Value>,
    #[serde(skip)]
    pub content_hash: Option<Vec<u8>>,
    #[serde(skip)]
    pub previous_hash: Option<Vec<u8>>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub payment_status: String,
    pub total_paise: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Line {
    pub position: i16,
    pub kind: String,
    pub description: String,
    pub code: String,
    pub quantity: i32,
    pub unit_price_paise: i64,
    pub discount: Option<serde_json::Value>,
    pub discount_approved_by: Option<Uuid>,
    pub staff_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub appointment_item_id: Option<Uuid>,
    pub original_position: Option<i16>,
    pub line_discount_paise: Option<i64>,
    pub invoice_discount_paise: Option<i64>,
    pub taxable_paise: Option<i64>,
    pub rate_bp: Option<i32>,
    pub cgst_paise: Option<i64>,
    pub sgst_paise: Option<i64>,
    pub igst_paise: Option<i64>,
    pub total_paise: Option<i64>,
}

const INVOICE_COLUMNS: &str = "id, location_id, kind, status, original_id, appointment_id, client_id, customer_name, \
     customer_phone, customer_gstin, customer_address, place_of_supply, invoice_discount, discount_approved_by, \
     tip_paise, tip_staff_id, restock, reason, supplier, number, financial_year, sequence, issued_on, document_kind, totals, \
     content_hash, previous_hash, finalized_at, payment_status, total_paise, created_at";

const PAYMENT_COLUMNS: &str =
    "id, invoice_id, kind, method, amount_paise, tendered_paise, change_paise, reference, received_at";

const LINE_COLUMNS: &str = "position, kind, description, code, quantity, unit_price_paise, discount, \
     discount_approved_by, staff_id, service_id, product_id, appointment_item_id, original_position, \
     line_discount_paise, invoice_discount_paise, taxable_paise, \
     rate_bp, cgst_paise, sgst_paise, igst_paise, total_paise";

pub struct NewInvoice<'a> {
    pub id: Uuid,
    pub location_id: Uuid,
    pub kind: &'a str,
    pub original_id: Option<Uuid>,
    pub appointment_id: Option<Uuid>,
    pub client_id: Option<Uuid>,
    pub customer_name: &'a str,
    pub customer_phone: Option<&'a str>,
    pub customer_gstin: Option<&'a str>,
    pub customer_address: &'a str,
    pub place_of_supply: &'a str,
    pub restock: bool,
    pub reason: &'a str,
    pub created_by: Option<Uuid>,
}

/// Start a draft; returns it as stored.
pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    invoice: &NewInvoice<'_>,
) -> Result<Invoice, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO invoices (tenant_id, id, location_id, kind, status, original_id, appointment_id, client_id,
                               customer_name, customer_phone, customer_gstin, customer_address, place_of_supply,
                               restock, reason, created_by)
         VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING {INVOICE_COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(invoice.id)
    .bind(invoice.location_id)
    .bind(invoice.kind)
    .bind(invoice.original_id)
    .bind(invoice.appointment_id)
    .bind(invoice.client_id)
    .bind(invoice.customer_name)
    .bind(invoice.customer_phone)
    .bind(invoice.customer_gstin)
    .bind(invoice.customer_address)
    .bind(invoice.place_of_supply)
    .bind(invoice.restock)
    .bind(invoice.reason)
    .bind(invoice.created_by)
    .fetch_one(conn)
    .await
}

pub struct NewLine<'a> {
    pub kind: &'a str,
    pub description: &'a str,
    pub code: &'a str,
    pub quantity: i32,
    pub unit_price_paise: i64,
    pub discount: Option<serde_json::Value>,
    pub discount_approved_by: Option<Uuid>,
    pub staff_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub appointment_item_id: Option<Uuid>,
    pub original_position: Option<i16>,
}

/// Append a line; returns it as stored (its position the next free one).
pub async fn add_line(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    invoice_id: Uuid,
    line: &NewLine<'_>,
) -> Result<Line, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO invoice_lines (tenant_id, invoice_id, position, kind, description, code, quantity,
                                    unit_price_paise, discount, discount_approved_by, staff_id, service_id,
                                    product_id, appointment_item_id, original_position)
         SELECT $1, $2, COALESCE(max(position) + 1, 0), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
           FROM invoice_lines WHERE invoice_id = $2
         RETURNING {LINE_COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(invoice_id)
    .bind(line.kind)
    .bind(line.description)
    .bind(line.code)
    .bind(line.quantity)
    .bind(line.unit_price_paise)
    .bind(&line.discount)
    .bind(line.discount_approved_by)
    .bind(line.staff_id)
    .bind(line.service_id)
    .bind(line.product_id)
    .bind(line.appointment_item_id)
    .bind(line.original_position)
    .fetch_one(conn)
    .await
}

pub async fn remove_line(
    conn: &mut PgConnection,
    invoice_id: Uuid,
    position: i16,
) -> Result<bool, sqlx::Error> {
    let removed = sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1 AND position = $2")
        .bind(invoice_id)
        .bind(position)
        .execute(conn)
        .await?;
    Ok(removed.rows_affected() == 1)
}

pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

pub async fn get_for_update(conn: &mut PgConnection, id: Uuid) -> Result<Option<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

pub async fn lines(conn: &mut PgConnection, invoice_id: Uuid) -> Result<Vec<Line>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = $1 ORDER BY position"
    ))
    .bind(invoice_id)
    .fetch_all(conn)
    .await
}

/// Invoices and credit notes of a location, newest first.
/// The invoice (not a credit note) of an appointment, if it has one.
pub async fn of_appointment(
    conn: &mut PgConnection,
    appointment_id: Uuid,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM invoices WHERE appointment_id = $1 AND kind = 'invoice'")
        .bind(appointment_id)
        .fetch_optional(conn)
        .await
}

pub async fn list(
    conn: &mut PgConnection,
    location_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices
          WHERE location_id = $1 AND ($2::date IS NULL OR issued_on >= $2) AND ($3::date IS NULL OR issued_on <= $3)
            AND ($4::uuid IS NULL OR id < $4)
          ORDER BY id DESC LIMIT $5"
    ))
    .bind(location_id)
    .bind(from)
    .bind(to)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Changes a draft's header (the immutability trigger refuses finalized ones).
pub struct DraftChanges<'a> {
    pub customer_name: &'a str,
    pub customer_phone: Option<&'a str>,
    pub customer_gstin: Option<&'a str>,
    pub customer_address: &'a str,
    pub place_of_supply: &'a str,
    pub invoice_discount: Option<serde_json::Value>,
    pub discount_approved_by: Option<Uuid>,
    pub tip_paise: i64,
    pub tip_staff_id: Option<Uuid>,
}

pub async fn update_draft(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &DraftChanges<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE invoices SET customer_name = $2, customer_phone = $3, customer_gstin = $4, customer_address = $5,
                place_of_supply = $6, invoice_discount = $7, discount_approved_by = $8, tip_paise = $9,
                tip_staff_id = $10
          WHERE id = $1",
    )
    .bind(id)
    .bind(changes.customer_name)
    .bind(changes.customer_phone)
    .bind(changes.customer_gstin)
    .bind(changes.customer_address)
    .bind(changes.place_of_supply)
    .bind(&changes.invoice_discount)
    .bind(changes.discount_approved_by)
    .bind(changes.tip_paise)
    .bind(changes.tip_staff_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Take the next number of a series: locks the series row until the
/// transaction ends, so concurrent finalizations queue and no number is
/// skipped or repeated (a rolled-back finalization gives its number back).
/// Returns the sequence and the hash of the series' previous document.
pub async fn next_in_series(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    location_id: Uuid,
    kind: &str,
    financial_year: i16,
) -> Result<(i32, Option<Vec<u8>>), sqlx::Error> {
    // The series exists but for the first document of a year: lock it in
    // one round trip, and create it only when it is missing.
    let lock = || {
        sqlx::query_as::<_, (i32, Option<Vec<u8>>)>(
            "SELECT last_sequence, last_hash FROM invoice_series
              WHERE location_id = $1 AND kind = $2 AND financial_year = $3 FOR UPDATE",
        )
        .bind(location_id)
        .bind(kind)
        .bind(financial_year)
    };
    if let Some((last, hash)) = lock().fetch_optional(&mut *conn).await? {
        return Ok((last + 1, hash));
    }
    sqlx::query(
        "INSERT INTO invoice_series (tenant_id, location_id, kind, financial_year) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id)
    .bind(location_id)
    .bind(kind)
    .bind(financial_year)
    .execute(&mut *conn)
    .await?;
    let (last, hash) = lock().fetch_one(conn).await?;
    Ok((last + 1, hash))
}

/// The computed figures of one line, written at finalization.
pub struct LineFigures {
    pub position: i16,
    pub line_discount_paise: i64,
    pub invoice_discount_paise: i64,
    pub taxable_paise: i64,
    pub rate_bp: i32,
    pub cgst_paise: i64,
    pub sgst_paise: i64,
    pub igst_paise: i64,
    pub total_paise: i64,
}

pub struct Finalization<'a> {
    pub supplier: serde_json::Value,
    pub number: &'a str,
    pub financial_year: i16,
    pub sequence: i32,
    pub issued_on: NaiveDate,
    pub document_kind: &'a str,
    pub totals: serde_json::Value,
    pub total_paise: i64,
    /// The sums of the lines' taxable value, tax and total (stored on the
    /// document for the reports that read documents, not lines).
    pub taxable_paise: i64,
    pub tax_paise: i64,
    pub lines_total_paise: i64,
    pub content_hash: &'a [u8],
    pub previous_hash: Option<&'a [u8]>,
    pub finalized_by: Option<Uuid>,
}

/// A draft's lines' figures, as it is about to be finalized: every line in
/// one statement (a draft may have many lines). Returns the lines as they
/// now are, in order.
pub async fn set_line_figures(
    conn: &mut PgConnection,
    id: Uuid,
    lines: &[LineFigures],
) -> Result<Vec<Line>, sqlx::Error> {
    let column = |f: fn(&LineFigures) -> i64| lines.iter().map(f).collect::<Vec<i64>>();
    let mut updated: Vec<Line> = sqlx::query_as(&format!(
        "UPDATE invoice_lines l SET taxable_paise = u.taxable, rate_bp = u.rate, cgst_paise = u.cgst,
                sgst_paise = u.sgst, igst_paise = u.igst, total_paise = u.total,
                line_discount_paise = u.line_discount, invoice_discount_paise = u.invoice_discount
           FROM unnest($2::int2[], $3::int8[], $4::int4[], $5::int8[], $6::int8[], $7::int8[], $8::int8[],
                       $9::int8[], $10::int8[])
                AS u(at, taxable, rate, cgst, sgst, igst, total, line_discount, invoice_discount)
          WHERE l.invoice_id = $1 AND l.position = u.at
          RETURNING {LINE_COLUMNS}"
    ))
    .bind(id)
    .bind(lines.iter().map(|l| l.position).collect::<Vec<i16>>())
    .bind(column(|l| l.taxable_paise))
    .bind(lines.iter().map(|l| l.rate_bp).collect::<Vec<i32>>())
    .bind(column(|l| l.cgst_paise))
    .bind(column(|l| l.sgst_paise))
    .bind(column(|l| l.igst_paise))
    .bind(column(|l| l.total_paise))
    .bind(column(|l| l.line_discount_paise))
    .bind(column(|l| l.invoice_discount_paise))
    .fetch_all(conn)
    .await?;
    updated.sort_by_key(|l| l.position);
    Ok(updated)
}

/// What a finalization records beside the document: its domain event and
/// its audit event.
pub struct Recorded<'a> {
    pub tenant_id: Uuid,
    pub event_kind: &'a str,
    pub event_payload: &'a serde_json::Value,
    pub origin: &'a crate::audit::Origin,
    pub audit: crate::audit::Event<'a>,
}

/// Finalize a draft whose lines have their figures, move its series
/// (locked by [`next_in_series`]) on to its number and hash, and record its
/// domain event and audit event: one statement, as it runs while every
/// till of the branch waits for the series. Returns the document as
/// finalized.
pub async fn finalize(
    conn: &mut PgConnection,
    id: Uuid,
    location_id: Uuid,
    kind: &str,
    f: &Finalization<'_>,
    recorded: Recorded<'_>,
) -> Result<Invoice, sqlx::Error> {
    static STATEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
        "WITH advanced AS (
             UPDATE invoice_series SET last_sequence = $4, last_hash = $9
              WHERE location_id = $16 AND kind = $17 AND financial_year = $3
         ),
         {events},
         audit_recorded AS ({audit})
         UPDATE invoices SET status = 'finalized', number = $2, financial_year = $3, sequence = $4, issued_on = $5,
                document_kind = $6, totals = $7, total_paise = $8, content_hash = $9, previous_hash = $10,
                finalized_at = now(), finalized_by = $11, supplier = $12, taxable_paise = $13, tax_paise = $14,
                lines_total_paise = $15
          WHERE id = $1
          RETURNING {INVOICE_COLUMNS}",
        events = crate::jobs::event_parts(18),
        audit = crate::audit::insert_statement(25),
    )
    });
    let query = sqlx::query(&STATEMENT)
        .bind(id)
        .bind(f.number)
        .bind(f.financial_year)
        .bind(f.sequence)
        .bind(f.issued_on)
        .bind(f.document_kind)
        .bind(&f.totals)
        .bind(f.total_paise)
        .bind(f.content_hash)
        .bind(f.previous_hash)
        .bind(f.finalized_by)
        .bind(&f.supplier)
        .bind(f.taxable_paise)
        .bind(f.tax_paise)
        .bind(f.lines_total_paise)
        .bind(location_id)
        .bind(kind);
    let (query, _) = crate::jobs::bind_event(
        query,
        recorded.tenant_id,
        recorded.event_kind,
        id,
        recorded.event_payload,
    );
    let query = crate::audit::bind(query, recorded.tenant_id, recorded.origin, recorded.audit);
    let row = query.fetch_one(conn).await?;
    Invoice::from_row(&row)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Payment {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub kind: String,
    pub method: String,
    pub amount_paise: i64,
    pub tendered_paise: Option<i64>,
    pub change_paise: i64,
    pub reference: String,
    pub received_at: DateTime<Utc>,
}

pub struct NewPayment<'a> {
    pub id: Uuid,
    pub invoice_id: Uuid,
    pub location_id: Uuid,
    pub kind: &'a str,
    pub method: &'a str,
    pub amount_paise: i64,
    pub tendered_paise: Option<i64>,
    pub change_paise: i64,
    pub reference: &'a str,
    pub received_by: Option<Uuid>,
}

/// Record a payment (a refund); returns it as recorded.
pub async fn add_payment(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    p: &NewPayment<'_>,
) -> Result<Payment, sqlx::Error> {
    sqlx::query_as(&format!(
        "INSERT INTO payments (tenant_id, id, invoice_id, location_id, kind, method, amount_paise, tendered_paise,
                               change_paise, reference, received_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING {PAYMENT_COLUMNS}"
    ))
    .bind(tenant_id)
    .bind(p.id)
    .bind(p.invoice_id)
    .bind(p.location_id)
    .bind(p.kind)
    .bind(p.method)
    .bind(p.amount_paise)
    .bind(p.tendered_paise)
    .bind(p.change_paise)
    .bind(p.reference)
    .bind(p.received_by)
    .fetch_one(conn)
    .await
}

pub async fn payments(conn: &mut PgConnection, invoice_id: Uuid) -> Result<Vec<Payment>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE invoice_id = $1 ORDER BY received_at, id"
    ))
    .bind(invoice_id)
    .fetch_all(conn)
    .await
}

/// Set a document's payment status; returns the document.
pub async fn set_payment_status(
    conn: &mut PgConnection,
    id: Uuid,
    status: &str,
) -> Result<Invoice, sqlx::Error> {
    sqlx::query_as(&format!(
        "UPDATE invoices SET payment_status = $2 WHERE id = $1 RETURNING {INVOICE_COLUMNS}"
    ))
    .bind(id)
    .bind(status)
    .fetch_one(conn)
    .await
}

/// Quantities already credited per original line position.
pub async fn credited_quantities(
    conn: &mut PgConnection,
    original_id: Uuid,
) -> Result<Vec<(i16, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT l.original_position, sum(l.quantity)::bigint FROM invoice_lines l
           JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id
          WHERE i.original_id = $1 AND i.status = 'finalized' AND l.original_position IS NOT NULL
          GROUP BY l.original_position",
    )
    .bind(original_id)
    .fetch_all(conn)
    .await
}

/// The credit notes issued against an invoice, oldest first.
pub async fn credit_notes_of(
    conn: &mut PgConnection,
    original_id: Uuid,
) -> Result<Vec<(Uuid, String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, number, total_paise FROM invoices
          WHERE original_id = $1 AND status = 'finalized' ORDER BY finalized_at, number",
    )
    .bind(original_id)
    .fetch_all(conn)
    .await
}

/// Every finalized document of one series, in order, for ledger checks.
pub async fn series_documents(
    conn: &mut PgConnection,
    location_id: Uuid,
    kind: &str,
    financial_year: i16,
) -> Result<Vec<Invoice>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices
          WHERE location_id = $1 AND kind = $2 AND financial_year = $3 AND status = 'finalized' ORDER BY sequence"
    ))
    .bind(location_id)
    .bind(kind)
    .bind(financial_year)
    .fetch_all(conn)
    .await
}

/// The lines of every finalized document of a series, in one query, by document id.
pub async fn series_lines(
    conn: &mut PgConnection,
    location_id: Uuid,
    kind: &str,
    financial_year: i16,
) -> Result<std::collections::HashMap<Uuid, Vec<Line>>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        invoice_id: Uuid,
        #[sqlx(flatten)]
        line: Line,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT invoice_id, {LINE_COLUMNS} FROM invoice_lines
          WHERE invoice_id IN (SELECT id FROM invoices WHERE location_id = $1 AND kind = $2
                                  AND financial_year = $3 AND status = 'finalized')
          ORDER BY invoice_id, position"
    ))
    .bind(location_id)
    .bind(kind)
    .bind(financial_year)
    .fetch_all(conn)
    .await?;
    let mut lines: std::collections::HashMap<Uuid, Vec<Line>> = std::collections::HashMap::new();
    for row in rows {
        lines.entry(row.invoice_id).or_default().push(row.line);
    }
    Ok(lines)
}

/// The first finalized document whose stored figures (taxable value, tax,
/// lines' total) differ from the sums of its lines, if any.
pub async fn first_with_wrong_figures(conn: &mut PgConnection) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT i.number FROM invoices i
           LEFT JOIN (SELECT tenant_id, invoice_id, sum(taxable_paise) AS taxable,
                             sum(cgst_paise + sgst_paise + igst_paise) AS tax, sum(total_paise) AS total
                        FROM invoice_lines GROUP BY tenant_id, invoice_id) l
             ON l.tenant_id = i.tenant_id AND l.invoice_id = i.id
          WHERE i.status = 'finalized'
            AND (i.taxable_paise, i.tax_paise, i.lines_total_paise)
                IS DISTINCT FROM (COALESCE(l.taxable, 0), COALESCE(l.tax, 0), COALESCE(l.total, 0))
          ORDER BY i.finalized_at, i.number LIMIT 1",
    )
    .fetch_optional(conn)
    .await
}

/// The series that have documents: (location, kind, financial year).
pub async fn series(conn: &mut PgConnection) -> Result<Vec<(Uuid, String, i16)>, sqlx::Error> {
    sqlx::query_as("SELECT location_id, kind, financial_year FROM invoice_series ORDER BY 1, 2, 3")
        .fetch_all(conn)
        .await
}

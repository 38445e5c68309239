//! Reports: revenue, GST (GSTR-1 style), staff commission and tips,
//! appointment statistics, and the day-end cash close. Reports read through
//! the read pool, which can point at a replica.
//!
//! Revenue is the value of finalized invoice lines (taxes included) minus
//! credit notes; tips and round-off are reported apart, as they are not sales.

use chrono::{NaiveDate, NaiveTime};
use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Event, Origin};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppError;
use crate::{App, Principal};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevenueGroup {
    Day,
    Staff,
    Service,
    Category,
    PaymentMethod,
}

#[derive(Debug, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct RevenueRow {
    pub key: String,
    pub label: String,
    pub documents: i64,
    pub taxable_paise: i64,
    pub tax_paise: i64,
    pub total_paise: i64,
}

#[derive(Debug, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct B2bRow {
    pub number: String,
    pub issued_on: NaiveDate,
    pub kind: String,
    pub customer_gstin: String,
    pub customer_name: String,
    pub place_of_supply: String,
    pub taxable_paise: i64,
    pub cgst_paise: i64,
    pub sgst_paise: i64,
    pub igst_paise: i64,
    pub total_paise: i64,
}

#[derive(Debug, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct B2cRow {
    pub place_of_supply: String,
    pub rate_bp: i32,
    pub taxable_paise: i64,
    pub cgst_paise: i64,
    pub sgst_paise: i64,
    pub igst_paise: i64,
}

#[derive(Debug, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct HsnRow {
    pub code: String,
    pub description: String,
    pub rate_bp: i32,
    pub quantity: i64,
    pub taxable_paise: i64,
    pub cgst_paise: i64,
    pub sgst_paise: i64,
    pub igst_paise: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaxReport {
    pub b2b: Vec<B2bRow>,
    pub b2c: Vec<B2cRow>,
    pub hsn: Vec<HsnRow>,
}

#[derive(Debug, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct StaffRow {
    pub staff_id: Uuid,
    pub name: String,
    pub service_taxable_paise: i64,
    pub product_taxable_paise: i64,
    pub commission_paise: i64,
    pub tips_paise: i64,
}

#[derive(Debug, Default, Serialize, ToSchema, sqlx::FromRow)]
pub struct AppointmentStats {
    pub total: i64,
    pub booked: i64,
    pub confirmed: i64,
    pub completed: i64,
    pub cancelled: i64,
    pub no_show: i64,
    /// No-shows among appointments that were due (completed + no-show), in basis points.
    pub no_show_rate_bp: i64,
    pub new_clients: i64,
    pub returning_clients: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CashCloseRequest {
    pub business_day: NaiveDate,
    pub counted_cash_paise: i64,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CashClose {
    pub location_id: Uuid,
    pub business_day: NaiveDate,
    /// Payments minus refunds per method.
    #[schema(value_type = Object)]
    pub totals: serde_json::Value,
    pub expected_cash_paise: i64,
    pub counted_cash_paise: Option<i64>,
    pub difference_paise: Option<i64>,
    pub closed: bool,
}

/// The period and place of a report.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub location_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

fn check(period: &Period) -> Result<(), AppError> {
    if period.to < period.from || (period.to - period.from).num_days() > 366 {
        return Err(AppError::invalid(
            "to",
            "must be on or after `from`, at most 366 days later",
        ));
    }
    Ok(())
}

const SIGN: &str = "CASE i.kind WHEN 'credit_note' THEN -1 ELSE 1 END";

/// The documents a report counts: finalized invoices and credit notes of the
/// branch `$1` issued from `$2` to `$3` (alias `i`).
const FINALIZED_IN_PERIOD: &str =
    "i.status = 'finalized' AND i.location_id = $1 AND i.issued_on BETWEEN $2 AND $3";

impl App {
    async fn report_tx(
        &self,
        principal: &Principal,
        period: &Period,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, AppError> {
        check(period)?;
        let mut tx = self.pools.begin_read(principal.tenant_id).await?;
        ftry_store::tenants::get_location(&mut tx, period.location_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(tx)
    }

    pub async fn revenue(
        &self,
        principal: &Principal,
        period: &Period,
        group: RevenueGroup,
    ) -> Result<Vec<RevenueRow>, AppError> {
        principal.require(Permission::ReportsRevenue)?;
        let mut tx = self.report_tx(principal, period).await?;
        let lines = format!(
            "FROM invoice_lines l JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id
             WHERE {FINALIZED_IN_PERIOD}"
        );
        let figures = format!(
            "count(DISTINCT i.id) AS documents, COALESCE(sum({SIGN} * l.taxable_paise), 0)::bigint AS taxable_paise,
             COALESCE(sum({SIGN} * (l.cgst_paise + l.sgst_paise + l.igst_paise)), 0)::bigint AS tax_paise,
             COALESCE(sum({SIGN} * l.total_paise), 0)::bigint AS total_paise"
        );
        let sql = match group {
            // From the documents alone: their stored figures are their lines' sums.
            RevenueGroup::Day => format!(
                "SELECT i.issued_on::text AS key, to_char(i.issued_on, 'DD Mon YYYY') AS label,
                        count(*) AS documents, COALESCE(sum({SIGN} * i.taxable_paise), 0)::bigint AS taxable_paise,
                        COALESCE(sum({SIGN} * i.tax_paise), 0)::bigint AS tax_paise,
                        COALESCE(sum({SIGN} * i.lines_total_paise), 0)::bigint AS total_paise
                   FROM invoices i
                  WHERE {FINALIZED_IN_PERIOD}
                 GROUP BY i.issued_on ORDER BY i.issued_on"
            ),
            RevenueGroup::Staff => format!(
                "SELECT COALESCE(l.staff_id::text, '') AS key, COALESCE(s.name, 'Unassigned') AS label, {figures}
                   FROM invoice_lines l JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id
                   LEFT JOIN staff s ON s.tenant_id = l.tenant_id AND s.id = l.staff_id
                  WHERE {FINALIZED_IN_PERIOD}
                 GROUP BY l.staff_id, s.name ORDER BY total_paise DESC, label"
            ),
            RevenueGroup::Service => format!(
                "SELECT COALESCE(l.service_id::text, l.kind) AS key,
                        CASE WHEN l.service_id IS NULL THEN initcap(l.kind) ELSE max(l.description) END AS label,
                        {figures} {lines}
                 GROUP BY l.service_id, l.kind ORDER BY total_paise DESC, label"
            ),
            RevenueGroup::Category => format!(
                "SELECT COALESCE(c.id::text, l.kind) AS key, COALESCE(c.name, initcap(l.kind)) AS label, {figures}
                   FROM invoice_lines l JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id
                   LEFT JOIN services sv ON sv.tenant_id = l.tenant_id AND sv.id = l.service_id
                   LEFT JOIN service_categories c ON c.tenant_id = sv.tenant_id AND c.id = sv.category_id
                  WHERE {FINALIZED_IN_PERIOD}
                 GROUP BY c.id, c.name, l.kind ORDER BY total_paise DESC, label"
            ),
            RevenueGroup::PaymentMethod => "SELECT p.method AS key,
                        CASE p.method WHEN 'upi' THEN 'UPI' ELSE initcap(replace(p.method, '_', ' ')) END AS label,
                        count(DISTINCT p.invoice_id) AS documents, 0::bigint AS taxable_paise, 0::bigint AS tax_paise,
                        COALESCE(sum(CASE p.kind WHEN 'refund' THEN -p.amount_paise ELSE p.amount_paise END), 0)::bigint
                            AS total_paise
                   FROM payments p JOIN invoices i ON i.tenant_id = p.tenant_id AND i.id = p.invoice_id
                  WHERE p.location_id = $1 AND i.issued_on BETWEEN $2 AND $3
                  GROUP BY p.method ORDER BY total_paise DESC, key"
                .to_owned(),
        };
        let rows = sqlx::query_as(&sql)
            .bind(period.location_id)
            .bind(period.from)
            .bind(period.to)
            .fetch_all(&mut *tx);
        let rows = self.pools.metrics.timed("report_revenue", rows).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// GSTR-1 style: B2B documents, the B2C summary by place of supply and
    /// rate, and the HSN/SAC summary.
    pub async fn tax_report(&self, principal: &Principal, period: &Period) -> Result<TaxReport, AppError> {
        principal.require(Permission::ReportsRevenue)?;
        let mut tx = self.report_tx(principal, period).await?;
        let b2b = sqlx::query_as(&format!(
            "SELECT i.number, i.issued_on, i.kind, i.customer_gstin, i.customer_name, i.place_of_supply,
                    sum({SIGN} * l.taxable_paise)::bigint AS taxable_paise, sum({SIGN} * l.cgst_paise)::bigint AS cgst_paise,
                    sum({SIGN} * l.sgst_paise)::bigint AS sgst_paise, sum({SIGN} * l.igst_paise)::bigint AS igst_paise,
                    sum({SIGN} * l.total_paise)::bigint AS total_paise
               FROM invoices i JOIN invoice_lines l ON l.tenant_id = i.tenant_id AND l.invoice_id = i.id
              WHERE {FINALIZED_IN_PERIOD}
                AND i.customer_gstin IS NOT NULL
              GROUP BY i.tenant_id, i.id ORDER BY i.issued_on, i.number"
        ))
        .bind(period.location_id)
        .bind(period.from)
        .bind(period.to)
        .fetch_all(&mut *tx)
        .await?;
        let b2c = sqlx::query_as(&format!(
            "SELECT i.place_of_supply, l.rate_bp, sum({SIGN} * l.taxable_paise)::bigint AS taxable_paise,
                    sum({SIGN} * l.cgst_paise)::bigint AS cgst_paise, sum({SIGN} * l.sgst_paise)::bigint AS sgst_paise,
                    sum({SIGN} * l.igst_paise)::bigint AS igst_paise
               FROM invoices i JOIN invoice_lines l ON l.tenant_id = i.tenant_id AND l.invoice_id = i.id
              WHERE {FINALIZED_IN_PERIOD}
                AND i.customer_gstin IS NULL
              GROUP BY i.place_of_supply, l.rate_bp ORDER BY i.place_of_supply, l.rate_bp"
        ))
        .bind(period.location_id)
        .bind(period.from)
        .bind(period.to)
        .fetch_all(&mut *tx)
        .await?;
        let hsn = sqlx::query_as(&format!(
            "SELECT l.code, tc.description, l.rate_bp, sum({SIGN} * l.quantity)::bigint AS quantity,
                    sum({SIGN} * l.taxable_paise)::bigint AS taxable_paise, sum({SIGN} * l.cgst_paise)::bigint AS cgst_paise,
                    sum({SIGN} * l.sgst_paise)::bigint AS sgst_paise, sum({SIGN} * l.igst_paise)::bigint AS igst_paise
               FROM invoices i JOIN invoice_lines l ON l.tenant_id = i.tenant_id AND l.invoice_id = i.id
               JOIN tax_classes tc ON tc.code = l.code
              WHERE {FINALIZED_IN_PERIOD}
              GROUP BY l.code, tc.description, l.rate_bp ORDER BY l.code, l.rate_bp"
        ))
        .bind(period.location_id)
        .bind(period.from)
        .bind(period.to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(TaxReport { b2b, b2c, hsn })
    }

    /// Per staff member: taxable value of their services and product sales,
    /// their commission at their own rates, and the tips left for them.
    pub async fn staff_report(
        &self,
        principal: &Principal,
        period: &Period,
    ) -> Result<Vec<StaffRow>, AppError> {
        principal.require(Permission::ReportsRevenue)?;
        let mut tx = self.report_tx(principal, period).await?;
        let rows = sqlx::query_as(&format!(
            "WITH sales AS (
                 SELECT l.staff_id,
                        sum({SIGN} * l.taxable_paise) FILTER (WHERE l.kind <> 'product') AS services,
                        sum({SIGN} * l.taxable_paise) FILTER (WHERE l.kind = 'product') AS products
                   FROM invoice_lines l JOIN invoices i ON i.tenant_id = l.tenant_id AND i.id = l.invoice_id
                  WHERE {FINALIZED_IN_PERIOD}
                    AND l.staff_id IS NOT NULL
                  GROUP BY l.staff_id),
             tips AS (
                 SELECT i.tip_staff_id AS staff_id, sum({SIGN} * i.tip_paise) AS tips
                   FROM invoices i
                  WHERE {FINALIZED_IN_PERIOD}
                    AND i.tip_staff_id IS NOT NULL
                  GROUP BY i.tip_staff_id)
             SELECT s.id AS staff_id, s.name,
                    COALESCE(sa.services, 0)::bigint AS service_taxable_paise,
                    COALESCE(sa.products, 0)::bigint AS product_taxable_paise,
                    (round(COALESCE(sa.services, 0) * s.service_commission_bp / 10000.0)
                     + round(COALESCE(sa.products, 0) * s.product_commission_bp / 10000.0))::bigint AS commission_paise,
                    COALESCE(t.tips, 0)::bigint AS tips_paise
               FROM staff s
               LEFT JOIN sales sa ON sa.staff_id = s.id
               LEFT JOIN tips t ON t.staff_id = s.id
              WHERE sa.staff_id IS NOT NULL OR t.staff_id IS NOT NULL
              ORDER BY s.display_order, s.name"
        ))
        .bind(period.location_id)
        .bind(period.from)
        .bind(period.to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Appointments starting in the period (by the branch's local dates).
    pub async fn appointment_stats(
        &self,
        principal: &Principal,
        period: &Period,
    ) -> Result<AppointmentStats, AppError> {
        principal.require(Permission::ReportsOperations)?;
        let mut tx = self.report_tx(principal, period).await?;
        let stats = sqlx::query_as(
            "WITH visits AS (
                 SELECT a.* FROM appointments a JOIN locations l ON l.tenant_id = a.tenant_id AND l.id = a.location_id
                  WHERE a.location_id = $1 AND (a.starts_at AT TIME ZONE l.timezone)::date BETWEEN $2 AND $3),
             firsts AS (
                 SELECT client_id, min(starts_at) AS first_visit FROM appointments
                  WHERE status NOT IN ('cancelled') GROUP BY client_id)
             SELECT count(*) AS total,
                    count(*) FILTER (WHERE status = 'booked') AS booked,
                    count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
                    count(*) FILTER (WHERE status = 'completed') AS completed,
                    count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
                    count(*) FILTER (WHERE status = 'no_show') AS no_show,
                    COALESCE(10000 * count(*) FILTER (WHERE status = 'no_show')
                             / NULLIF(count(*) FILTER (WHERE status IN ('completed', 'no_show')), 0), 0) AS no_show_rate_bp,
                    count(DISTINCT v.client_id) FILTER (WHERE v.status <> 'cancelled'
                                                        AND f.first_visit >= (SELECT min(starts_at) FROM visits))
                        AS new_clients,
                    count(DISTINCT v.client_id) FILTER (WHERE v.status <> 'cancelled'
                                                        AND f.first_visit < (SELECT min(starts_at) FROM visits))
                        AS returning_clients
               FROM visits v LEFT JOIN firsts f ON f.client_id = v.client_id",
        )
        .bind(period.location_id)
        .bind(period.from)
        .bind(period.to)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(stats)
    }

    async fn cash_figures(
        &self,
        tx: &mut sqlx::PgConnection,
        location_id: Uuid,
        day: NaiveDate,
    ) -> Result<(serde_json::Value, i64), AppError> {
        let timezone: String = sqlx::query_scalar("SELECT timezone FROM locations WHERE id = $1")
            .bind(location_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(AppError::NotFound)?;
        let zone: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::Asia::Kolkata);
        let start = ftry_domain::schedule::boundary_instant(zone, day.and_time(NaiveTime::MIN));
        let end = ftry_domain::schedule::boundary_instant(
            zone,
            day.succ_opt().unwrap_or(day).and_time(NaiveTime::MIN),
        );
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT method, sum(CASE kind WHEN 'refund' THEN -amount_paise ELSE amount_paise END)::bigint
               FROM payments WHERE location_id = $1 AND received_at >= $2 AND received_at < $3
              GROUP BY method ORDER BY method",
        )
        .bind(location_id)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *tx)
        .await?;
        let cash = rows.iter().find(|(m, _)| m == "cash").map_or(0, |(_, v)| *v);
        let totals = serde_json::Value::Object(rows.into_iter().map(|(m, v)| (m, v.into())).collect());
        Ok((totals, cash))
    }

    /// The Z-report of a day: closed if it has been, else what the till should hold.
    pub async fn cash_close(
        &self,
        principal: &Principal,
        location_id: Uuid,
        day: NaiveDate,
    ) -> Result<CashClose, AppError> {
        principal.require(Permission::PaymentsTake)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let stored: Option<(serde_json::Value, i64, i64, i64)> = sqlx::query_as(
            "SELECT totals, expected_cash, counted_cash, difference FROM cash_closes
              WHERE location_id = $1 AND business_day = $2",
        )
        .bind(location_id)
        .bind(day)
        .fetch_optional(&mut *tx)
        .await?;
        let close = match stored {
            Some((totals, expected, counted, difference)) => CashClose {
                location_id,
                business_day: day,
                totals,
                expected_cash_paise: expected,
                counted_cash_paise: Some(counted),
                difference_paise: Some(difference),
                closed: true,
            },
            None => {
                let (totals, expected) = self.cash_figures(&mut tx, location_id, day).await?;
                CashClose {
                    location_id,
                    business_day: day,
                    totals,
                    expected_cash_paise: expected,
                    counted_cash_paise: None,
                    difference_paise: None,
                    closed: false,
                }
            }
        };
        tx.commit().await?;
        Ok(close)
    }

    /// Close the till for a day: what was expected, what was counted, the difference.
    pub async fn close_cash(
        &self,
        principal: &Principal,
        location_id: Uuid,
        request: &CashCloseRequest,
        origin: &Origin,
    ) -> Result<CashClose, AppError> {
        principal.require(Permission::PaymentsTake)?;
        if request.counted_cash_paise < 0 {
            return Err(AppError::invalid("counted_cash_paise", "cannot be negative"));
        }
        let mut v = crate::error::Validator::default();
        let note = v
            .optional_text("note", request.note.as_deref(), 500)
            .unwrap_or_default();
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let (totals, expected) = self
            .cash_figures(&mut tx, location_id, request.business_day)
            .await?;
        let difference = request.counted_cash_paise - expected;
        let id = Uuid::now_v7();
        let inserted = sqlx::query(
            "INSERT INTO cash_closes (tenant_id, id, location_id, business_day, expected_cash, counted_cash, difference,
                                      totals, note, closed_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (tenant_id, location_id, business_day) DO NOTHING",
        )
        .bind(principal.tenant_id)
        .bind(id)
        .bind(location_id)
        .bind(request.business_day)
        .bind(expected)
        .bind(request.counted_cash_paise)
        .bind(difference)
        .bind(&totals)
        .bind(&note)
        .bind(principal.user_id)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Err(AppError::conflict(
                "already_closed",
                "This day's till is already closed.",
            ));
        }
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "cash.closed", "location", location_id).after(serde_json::json!({
                "business_day": request.business_day, "expected": expected, "counted": request.counted_cash_paise,
                "difference": difference,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(CashClose {
            location_id,
            business_day: request.business_day,
            totals,
            expected_cash_paise: expected,
            counted_cash_paise: Some(request.counted_cash_paise),
            difference_paise: Some(difference),
            closed: true,
        })
    }
}

/// Rows as CSV (RFC 4180): a header from the first row's keys (a blank
/// row's when there are none), values quoted when needed.
pub fn csv<T: Serialize + Default>(rows: &[T]) -> String {
    let values: Vec<serde_json::Value> = rows.iter().filter_map(|r| serde_json::to_value(r).ok()).collect();
    let blank = serde_json::to_value(T::default()).ok();
    let Some(serde_json::Value::Object(first)) = values.first().or(blank.as_ref()) else {
        return String::new();
    };
    let headers: Vec<String> = first.keys().cloned().collect();
    let cell = |v: &serde_json::Value| {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let mut out = headers.join(",") + "\r\n";
    for value in &values {
        let row: Vec<String> = headers.iter().map(|h| cell(&value[h])).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

impl App {
    /// A staff member's commission rates, in basis points: on the taxable
    /// value of their services and of the products they sell.
    pub async fn commission(&self, principal: &Principal, staff_id: Uuid) -> Result<(i32, i32), AppError> {
        principal.require(Permission::StaffRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let rates =
            sqlx::query_as("SELECT service_commission_bp, product_commission_bp FROM staff WHERE id = $1")
                .bind(staff_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(rates)
    }

    pub async fn set_commission(
        &self,
        principal: &Principal,
        staff_id: Uuid,
        service_bp: i32,
        product_bp: i32,
        origin: &Origin,
    ) -> Result<(), AppError> {
        principal.require(Permission::StaffManage)?;
        for (field, bp) in [
            ("service_commission_bp", service_bp),
            ("product_commission_bp", product_bp),
        ] {
            if !(0..=10_000).contains(&bp) {
                return Err(AppError::invalid(field, "must be 0 to 10000 basis points"));
            }
        }
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let updated = sqlx::query(
            "UPDATE staff SET service_commission_bp = $2, product_commission_bp = $3 WHERE id = $1",
        )
        .bind(staff_id)
        .bind(service_bp)
        .bind(product_bp)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(AppError::NotFound);
        }
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "staff.commission_set", "staff", staff_id)
                .after(serde_json::json!({ "service_commission_bp": service_bp, "product_commission_bp": product_bp })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

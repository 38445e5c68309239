//! The reports: revenue (a branch's takings over a period, by day, staff
//! member, service, category or payment method), GST (GSTR-1 style: B2B
//! documents, B2C by place of supply and rate, the SAC/HSN summary), staff
//! (sales, commission and tips per person) and appointments (by status, the
//! no-show rate, new and returning clients). Tables and charts drawn on the
//! server (inline SVG), the same figures as CSV from the API. Money reports
//! need `reports:revenue` (not the reception desk); appointments need
//! `reports:operations`.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use ftry_api::AppState;
use ftry_app::reports::{Period, RevenueGroup, RevenueRow};
use ftry_app::tenant::Location;
use ftry_app::Principal;
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::format::rupees;
use crate::forms::in_words;
use crate::page::{self, html, Chrome};
use crate::session::{signed_in, to_login, SignedIn};

/// The chart's drawing area, in SVG units.
const CHART_WIDTH: f64 = 720.0;
const BAR_HEIGHT: f64 = 22.0;
const COLUMNS_HEIGHT: f64 = 160.0;

#[derive(Debug, Default, Deserialize)]
pub struct RevenueQuery {
    location: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

struct Line {
    label: String,
    documents: i64,
    taxable: String,
    tax: String,
    total: String,
}

/// One bar: where it is drawn and what it says.
struct Bar {
    x: String,
    y: String,
    width: String,
    height: String,
    title: String,
}

struct GroupOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "revenue.html")]
struct RevenuePage {
    chrome: Chrome,
    location_id: Uuid,
    location_name: String,
    from: String,
    to: String,
    groups: Vec<GroupOption>,
    lines: Vec<Line>,
    total: String,
    documents: i64,
    bars: Vec<Bar>,
    chart_height: String,
    csv: String,
    error: String,
    /// Links to the appointments report (`reports:operations`).
    operations: bool,
}

const GROUPS: [(&str, &str, RevenueGroup); 5] = [
    ("day", "Day", RevenueGroup::Day),
    ("staff", "Staff member", RevenueGroup::Staff),
    ("service", "Service", RevenueGroup::Service),
    ("category", "Category", RevenueGroup::Category),
    ("payment_method", "Payment method", RevenueGroup::PaymentMethod),
];

fn bars(rows: &[RevenueRow], columns: bool) -> (Vec<Bar>, f64) {
    let values: Vec<(i64, String)> = rows
        .iter()
        .map(|row| {
            (
                row.total_paise,
                format!("{}: {}", row.label, rupees(row.total_paise)),
            )
        })
        .collect();
    chart(&values, columns)
}

/// Bars for values (each with its tooltip): columns side by side, or
/// horizontal bars one under the other; and the drawing's height.
fn chart(values: &[(i64, String)], columns: bool) -> (Vec<Bar>, f64) {
    let rows = values;
    let most = rows.iter().map(|r| r.0).max().unwrap_or(0).max(1) as f64;
    let fmt = |v: f64| format!("{v:.1}");
    if columns {
        let step = CHART_WIDTH / rows.len().max(1) as f64;
        let bars = rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let height = (row.0.max(0) as f64 / most) * COLUMNS_HEIGHT;
                Bar {
                    x: fmt(i as f64 * step + step * 0.1),
                    y: fmt(COLUMNS_HEIGHT - height),
                    width: fmt(step * 0.8),
                    height: fmt(height),
                    title: row.1.clone(),
                }
            })
            .collect();
        (bars, COLUMNS_HEIGHT)
    } else {
        let bars = rows
            .iter()
            .enumerate()
            .map(|(i, row)| Bar {
                x: "0".into(),
                y: fmt(i as f64 * BAR_HEIGHT + 3.0),
                width: fmt((row.0.max(0) as f64 / most) * CHART_WIDTH),
                height: fmt(BAR_HEIGHT - 6.0),
                title: row.1.clone(),
            })
            .collect();
        (bars, rows.len() as f64 * BAR_HEIGHT)
    }
}

/// A report's request: who asks, and for which branch and period.
struct Asked {
    principal: Principal,
    csrf: String,
    location: Location,
    period: Period,
    query: RevenueQuery,
}

/// The signed-in person (else the sign-in page, coming back to `path`) and
/// the branch and period the report's query names.
async fn asked(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    query: Result<Query<RevenueQuery>, QueryRejection>,
    path: &str,
) -> Result<Asked, Response> {
    let Some(SignedIn { principal, csrf }) = signed_in(state, headers).await else {
        return Err(to_login(uri.path_and_query().map_or(path, |p| p.as_str())));
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let (location, from, to) = period_of(state, &principal, &csrf, &query).await?;
    let period = Period {
        location_id: location.id,
        from,
        to,
    };
    Ok(Asked {
        principal,
        csrf,
        location,
        period,
        query,
    })
}

/// A report's branch and period from its query: this month so far unless
/// dates are given; a date that is not one is a 400 page.
async fn period_of(
    state: &AppState,
    principal: &Principal,
    csrf: &str,
    query: &RevenueQuery,
) -> Result<(Location, NaiveDate, NaiveDate), Response> {
    let wanted = query.location.as_deref().and_then(|l| l.parse::<Uuid>().ok());
    let (_, location) = page::branch(state, principal, wanted, csrf).await?;
    let zone = page::zone(&location.timezone);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let date = |text: Option<&str>, default: NaiveDate| match text.filter(|t| !t.is_empty()) {
        None => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| text.to_owned()),
    };
    let (from, to) = match (
        date(query.from.as_deref(), month_start),
        date(query.to.as_deref(), today),
    ) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(bad), _) | (_, Err(bad)) => {
            return Err(page::error(
                StatusCode::BAD_REQUEST,
                "Not a date",
                format!("“{bad}” is not a date. Use the date pickers, or write it as YYYY-MM-DD."),
                csrf,
            ))
        }
    };
    Ok((location, from, to))
}

pub async fn revenue(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<RevenueQuery>, QueryRejection>,
) -> Response {
    let Asked {
        principal,
        csrf,
        location,
        period,
        query,
    } = match asked(&state, &headers, &uri, query, "/app/reports/revenue").await {
        Ok(asked) => asked,
        Err(answer) => return answer,
    };
    let (from, to) = (period.from, period.to);
    let (by, _, group) = GROUPS
        .iter()
        .copied()
        .find(|(value, _, _)| Some(*value) == query.by.as_deref())
        .unwrap_or(GROUPS[0]);
    let (rows, error) = match state.app.revenue(&principal, &period, group).await {
        Ok(rows) => (rows, String::new()),
        Err(e) => match period_refusal(e) {
            Ok(error) => (Vec::new(), error),
            Err(e) => return page::app_error(e, &csrf),
        },
    };
    // Days as columns; everything else as horizontal bars.
    let (bars, chart_height) = bars(&rows, group == RevenueGroup::Day);
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = RevenuePage {
        chrome: Chrome::signed("Revenue", csrf, &principal),
        location_id: location.id,
        location_name: location.name.clone(),
        from: from.to_string(),
        to: to.to_string(),
        groups: GROUPS
            .iter()
            .map(|(value, label, _)| GroupOption {
                value,
                label,
                selected: *value == by,
            })
            .collect(),
        total: rupees(rows.iter().map(|r| r.total_paise).sum()),
        documents: if group == RevenueGroup::Day {
            rows.iter().map(|r| r.documents).sum()
        } else {
            0
        },
        lines: rows
            .iter()
            .map(|row| Line {
                label: row.label.clone(),
                documents: row.documents,
                taxable: rupees(row.taxable_paise),
                tax: rupees(row.tax_paise),
                total: rupees(row.total_paise),
            })
            .collect(),
        bars,
        chart_height: format!("{chart_height:.0}"),
        csv: format!(
            "/api/v1/reports/revenue?location_id={}&from={from}&to={to}&group={by}&format=csv",
            location.id
        ),
        error,
        operations: principal.can(Permission::ReportsOperations),
    };
    html(status, &page)
}

/// The links between the reports a person may open, and the period form's target.
struct ReportNav {
    money: bool,
    operations: bool,
    /// This report's address (the period form sends to it).
    path: &'static str,
}

impl ReportNav {
    fn of(principal: &Principal, path: &'static str) -> Self {
        Self {
            money: principal.can(Permission::ReportsRevenue),
            operations: principal.can(Permission::ReportsOperations),
            path,
        }
    }
}

/// A use case's refusal of the period (more than a year, backwards) as the
/// page's message; anything else is its own page.
fn period_refusal(e: ftry_app::AppError) -> Result<String, ftry_app::AppError> {
    match e {
        ftry_app::AppError::Validation(fields) => Ok(in_words(&fields, |_| "the end date".to_owned())),
        e => Err(e),
    }
}

fn status_for(error: &str) -> StatusCode {
    if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Rate in basis points as a percentage: 500 → "5%", 1250 → "12.5%".
fn percent(bp: i64) -> String {
    if bp % 100 == 0 {
        format!("{}%", bp / 100)
    } else {
        format!("{}%", bp as f64 / 100.0)
    }
}

struct B2bLine {
    number: String,
    issued_on: String,
    customer: String,
    gstin: String,
    place: String,
    taxable: String,
    tax: String,
    total: String,
}

struct B2cLine {
    place: String,
    rate: String,
    taxable: String,
    cgst: String,
    sgst: String,
    igst: String,
}

struct HsnLine {
    code: String,
    description: String,
    rate: String,
    quantity: i64,
    taxable: String,
    tax: String,
}

#[derive(Template)]
#[template(path = "tax_report.html")]
struct TaxPage {
    chrome: Chrome,
    nav: ReportNav,
    location_id: Uuid,
    location_name: String,
    from: String,
    to: String,
    b2b: Vec<B2bLine>,
    b2c: Vec<B2cLine>,
    hsn: Vec<HsnLine>,
    taxable: String,
    tax: String,
    csv: String,
    error: String,
}

/// `GET /app/reports/tax`: GST for the period, as GSTR-1 asks for it.
pub async fn tax(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<RevenueQuery>, QueryRejection>,
) -> Response {
    let Asked {
        principal,
        csrf,
        location,
        period,
        ..
    } = match asked(&state, &headers, &uri, query, "/app/reports/tax").await {
        Ok(asked) => asked,
        Err(answer) => return answer,
    };
    let (from, to) = (period.from, period.to);
    let (report, error) = match state.app.tax_report(&principal, &period).await {
        Ok(report) => (Some(report), String::new()),
        Err(e) => match period_refusal(e) {
            Ok(error) => (None, error),
            Err(e) => return page::app_error(e, &csrf),
        },
    };
    let (b2b, b2c, hsn) = report.map(|r| (r.b2b, r.b2c, r.hsn)).unwrap_or_default();
    let state_name = |code: &str| {
        ftry_domain::gstin::state_name(code).map_or(code.to_owned(), |name| format!("{code} {name}"))
    };
    let taxable: i64 =
        b2b.iter().map(|r| r.taxable_paise).sum::<i64>() + b2c.iter().map(|r| r.taxable_paise).sum::<i64>();
    let tax: i64 = b2b
        .iter()
        .map(|r| r.cgst_paise + r.sgst_paise + r.igst_paise)
        .sum::<i64>()
        + b2c
            .iter()
            .map(|r| r.cgst_paise + r.sgst_paise + r.igst_paise)
            .sum::<i64>();
    let page = TaxPage {
        chrome: Chrome::signed("GST", &csrf, &principal),
        nav: ReportNav::of(&principal, "/app/reports/tax"),
        location_id: location.id,
        location_name: location.name.clone(),
        from: from.to_string(),
        to: to.to_string(),
        b2b: b2b
            .iter()
            .map(|r| B2bLine {
                number: r.number.clone(),
                issued_on: r.issued_on.format("%-d %b %Y").to_string(),
                customer: r.customer_name.clone(),
                gstin: r.customer_gstin.clone(),
                place: state_name(&r.place_of_supply),
                taxable: rupees(r.taxable_paise),
                tax: rupees(r.cgst_paise + r.sgst_paise + r.igst_paise),
                total: rupees(r.total_paise),
            })
            .collect(),
        b2c: b2c
            .iter()
            .map(|r| B2cLine {
                place: state_name(&r.place_of_supply),
                rate: percent(i64::from(r.rate_bp)),
                taxable: rupees(r.taxable_paise),
                cgst: rupees(r.cgst_paise),
                sgst: rupees(r.sgst_paise),
                igst: rupees(r.igst_paise),
            })
            .collect(),
        hsn: hsn
            .iter()
            .map(|r| HsnLine {
                code: r.code.clone(),
                description: r.description.clone(),
                rate: percent(i64::from(r.rate_bp)),
                quantity: r.quantity,
                taxable: rupees(r.taxable_paise),
                tax: rupees(r.cgst_paise + r.sgst_paise + r.igst_paise),
            })
            .collect(),
        taxable: rupees(taxable),
        tax: rupees(tax),
        csv: format!(
            "/api/v1/reports/tax?location_id={}&from={from}&to={to}&format=csv&section=",
            location.id
        ),
        error: error.clone(),
    };
    html(status_for(&error), &page)
}

struct StaffLine {
    name: String,
    services: String,
    products: String,
    commission: String,
    tips: String,
}

#[derive(Template)]
#[template(path = "staff_report.html")]
struct StaffPage {
    chrome: Chrome,
    nav: ReportNav,
    location_id: Uuid,
    location_name: String,
    from: String,
    to: String,
    lines: Vec<StaffLine>,
    bars: Vec<Bar>,
    chart_height: String,
    csv: String,
    error: String,
}

/// `GET /app/reports/staff`: what each person sold, their commission and tips.
pub async fn staff(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<RevenueQuery>, QueryRejection>,
) -> Response {
    let Asked {
        principal,
        csrf,
        location,
        period,
        ..
    } = match asked(&state, &headers, &uri, query, "/app/reports/staff").await {
        Ok(asked) => asked,
        Err(answer) => return answer,
    };
    let (from, to) = (period.from, period.to);
    let (rows, error) = match state.app.staff_report(&principal, &period).await {
        Ok(rows) => (rows, String::new()),
        Err(e) => match period_refusal(e) {
            Ok(error) => (Vec::new(), error),
            Err(e) => return page::app_error(e, &csrf),
        },
    };
    let sold: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            let total = r.service_taxable_paise + r.product_taxable_paise;
            (total, format!("{}: {} sold", r.name, rupees(total)))
        })
        .collect();
    let (bars, chart_height) = chart(&sold, false);
    let page = StaffPage {
        chrome: Chrome::signed("Staff sales", &csrf, &principal),
        nav: ReportNav::of(&principal, "/app/reports/staff"),
        location_id: location.id,
        location_name: location.name.clone(),
        from: from.to_string(),
        to: to.to_string(),
        lines: rows
            .iter()
            .map(|r| StaffLine {
                name: r.name.clone(),
                services: rupees(r.service_taxable_paise),
                products: rupees(r.product_taxable_paise),
                commission: rupees(r.commission_paise),
                tips: rupees(r.tips_paise),
            })
            .collect(),
        bars,
        chart_height: format!("{chart_height:.0}"),
        csv: format!(
            "/api/v1/reports/staff?location_id={}&from={from}&to={to}&format=csv",
            location.id
        ),
        error: error.clone(),
    };
    html(status_for(&error), &page)
}

#[derive(Template)]
#[template(path = "appointments_report.html")]
struct AppointmentsPage {
    chrome: Chrome,
    nav: ReportNav,
    location_id: Uuid,
    location_name: String,
    from: String,
    to: String,
    /// Label, count, for the tiles and the chart.
    counts: Vec<(&'static str, i64)>,
    no_show_rate: String,
    new_clients: i64,
    returning_clients: i64,
    bars: Vec<Bar>,
    csv: String,
    error: String,
}

/// `GET /app/reports/appointments`: the period's visits by status, the
/// no-show rate, new and returning clients.
pub async fn appointments(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<RevenueQuery>, QueryRejection>,
) -> Response {
    let Asked {
        principal,
        csrf,
        location,
        period,
        ..
    } = match asked(&state, &headers, &uri, query, "/app/reports/appointments").await {
        Ok(asked) => asked,
        Err(answer) => return answer,
    };
    let (from, to) = (period.from, period.to);
    let (stats, error) = match state.app.appointment_stats(&principal, &period).await {
        Ok(stats) => (stats, String::new()),
        Err(e) => match period_refusal(e) {
            Ok(error) => (ftry_app::reports::AppointmentStats::default(), error),
            Err(e) => return page::app_error(e, &csrf),
        },
    };
    let counts = vec![
        ("Booked", stats.booked),
        ("Confirmed", stats.confirmed),
        ("Completed", stats.completed),
        ("Cancelled", stats.cancelled),
        ("No-show", stats.no_show),
    ];
    let values: Vec<(i64, String)> = counts
        .iter()
        .map(|(label, n)| (*n, format!("{label}: {n}")))
        .collect();
    let (bars, _) = chart(&values, false);
    let page = AppointmentsPage {
        chrome: Chrome::signed("Appointments", &csrf, &principal),
        nav: ReportNav::of(&principal, "/app/reports/appointments"),
        location_id: location.id,
        location_name: location.name.clone(),
        from: from.to_string(),
        to: to.to_string(),
        counts,
        no_show_rate: percent(stats.no_show_rate_bp),
        new_clients: stats.new_clients,
        returning_clients: stats.returning_clients,
        bars,
        csv: format!(
            "/api/v1/reports/appointments?location_id={}&from={from}&to={to}&format=csv",
            location.id
        ),
        error: error.clone(),
    };
    html(status_for(&error), &page)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shows_a_rate_as_a_percentage() {
        assert_eq!(super::percent(500), "5%");
        assert_eq!(super::percent(1250), "12.5%");
        assert_eq!(super::percent(0), "0%");
    }
}

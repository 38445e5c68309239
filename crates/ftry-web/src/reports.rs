//! The revenue report: a branch's takings over a period, by day, staff
//! member, service, category or payment method, as a table and a chart drawn
//! on the server (inline SVG), with the same figures as CSV from the API.
//! Only people with `reports:revenue` see it (not the reception desk).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use ftry_api::AppState;
use ftry_app::reports::{Period, RevenueGroup, RevenueRow};
use serde::Deserialize;
use uuid::Uuid;

use crate::format::rupees;
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
}

const GROUPS: [(&str, &str, RevenueGroup); 5] = [
    ("day", "Day", RevenueGroup::Day),
    ("staff", "Staff member", RevenueGroup::Staff),
    ("service", "Service", RevenueGroup::Service),
    ("category", "Category", RevenueGroup::Category),
    ("payment_method", "Payment method", RevenueGroup::PaymentMethod),
];

fn bars(rows: &[RevenueRow], columns: bool) -> (Vec<Bar>, f64) {
    let most = rows.iter().map(|r| r.total_paise).max().unwrap_or(0).max(1) as f64;
    let fmt = |v: f64| format!("{v:.1}");
    if columns {
        let step = CHART_WIDTH / rows.len().max(1) as f64;
        let bars = rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let height = (row.total_paise.max(0) as f64 / most) * COLUMNS_HEIGHT;
                Bar {
                    x: fmt(i as f64 * step + step * 0.1),
                    y: fmt(COLUMNS_HEIGHT - height),
                    width: fmt(step * 0.8),
                    height: fmt(height),
                    title: format!("{}: {}", row.label, rupees(row.total_paise)),
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
                width: fmt((row.total_paise.max(0) as f64 / most) * CHART_WIDTH),
                height: fmt(BAR_HEIGHT - 6.0),
                title: format!("{}: {}", row.label, rupees(row.total_paise)),
            })
            .collect();
        (bars, rows.len() as f64 * BAR_HEIGHT)
    }
}

pub async fn revenue(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<RevenueQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(
            uri.path_and_query()
                .map_or("/app/reports/revenue", |p| p.as_str()),
        );
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let wanted = query.location.as_deref().and_then(|l| l.parse::<Uuid>().ok());
    let location = match page::branch(&state, &principal, wanted, &csrf).await {
        Ok((_, location)) => location,
        Err(refused) => return refused,
    };
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
            return page::error(
                StatusCode::BAD_REQUEST,
                "Not a date",
                format!("“{bad}” is not a date. Use the date pickers, or write it as YYYY-MM-DD."),
                &csrf,
            )
        }
    };
    let (by, _, group) = GROUPS
        .iter()
        .copied()
        .find(|(value, _, _)| Some(*value) == query.by.as_deref())
        .unwrap_or(GROUPS[0]);
    let period = Period {
        location_id: location.id,
        from,
        to,
    };
    let (rows, error) = match state.app.revenue(&principal, &period, group).await {
        Ok(rows) => (rows, String::new()),
        Err(ftry_app::AppError::Validation(fields)) => (
            Vec::new(),
            fields
                .iter()
                .map(|f| crate::booking::sentence(&format!("the end date {}", f.message.replace('`', ""))))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Err(e) => return page::app_error(e, &csrf),
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
    };
    html(status, &page)
}

//! Today at a branch, at a glance: who is booked, who has arrived, how full
//! each stylist's day is, and (for those who may see revenue) the takings so
//! far. Built from the calendar's use case and the revenue report's.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use ftry_api::AppState;
use ftry_app::calendar::Span;
use ftry_app::reports::{Period, RevenueGroup};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::format::rupees;
use crate::page::{self, html, Chrome};
use crate::session::{signed_in, to_login, SignedIn};

#[derive(Debug, Default, Deserialize)]
pub struct TodayQuery {
    location: Option<String>,
    /// Another day than today (tomorrow, to plan it).
    date: Option<String>,
}

struct StaffDay {
    name: String,
    services: usize,
    /// Booked minutes ÷ working minutes, in whole per cent.
    utilization: i64,
    next: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    location_id: Uuid,
    location_name: String,
    date_label: String,
    visits: usize,
    waiting: usize,
    completed: usize,
    no_shows: usize,
    staff: Vec<StaffDay>,
    /// Empty without `reports:revenue`.
    revenue: String,
    invoices: i64,
    /// A walk-in sale can be started here (`invoices:create`).
    sells: bool,
    /// Visits of the day and the next that may be missed; `None` for those
    /// who may not see the whole calendar and the clients.
    risks: Option<Vec<RiskLine>>,
}

struct RiskLine {
    appointment: Uuid,
    when: String,
    client: String,
    level: &'static str,
    reason: String,
}

fn minutes(spans: &[Span]) -> i64 {
    spans.iter().map(|s| (s.end - s.start).num_minutes().max(0)).sum()
}

pub async fn today(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<TodayQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path_and_query().map_or("/app", |p| p.as_str()));
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let wanted = query.location.as_deref().and_then(|l| l.parse::<Uuid>().ok());
    let location = match page::branch(&state, &principal, wanted, &csrf).await {
        Ok((_, location)) => location,
        Err(refused) => return refused,
    };
    let zone = page::zone(&location.timezone);
    let now = Utc::now();
    let today = query
        .date
        .as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .unwrap_or_else(|| now.with_timezone(&zone).date_naive());
    let calendar = match state.app.calendar(&principal, location.id, today, 1).await {
        Ok(calendar) => calendar,
        Err(e) => return page::app_error(e, &csrf),
    };
    let day = calendar.days.into_iter().next();
    let columns = day.map(|d| d.staff).unwrap_or_default();
    let items: Vec<_> = columns.iter().flat_map(|c| c.items.iter()).collect();
    // A visit counts once, however many services it has.
    let mut visits: Vec<(Uuid, &str)> = items
        .iter()
        .map(|i| (i.appointment_id, i.status.as_str()))
        .collect();
    visits.sort_unstable();
    visits.dedup();
    let count = |wanted: &[&str]| visits.iter().filter(|(_, s)| wanted.contains(s)).count();
    let staff = columns
        .iter()
        .map(|column| {
            let working = minutes(&column.working) - minutes(&column.breaks) - minutes(&column.time_off);
            let booked: i64 = column
                .items
                .iter()
                .filter(|i| i.status != "no_show")
                .map(|i| (i.ends_at - i.starts_at).num_minutes())
                .sum();
            let next = column
                .items
                .iter()
                .filter(|i| i.starts_at > now && i.status != "no_show")
                .min_by_key(|i| i.starts_at)
                .map(|i| {
                    format!(
                        "{} {}",
                        i.starts_at.with_timezone(&zone).format("%H:%M"),
                        i.client_name
                    )
                })
                .unwrap_or_else(|| "—".to_owned());
            StaffDay {
                name: column.name.clone(),
                services: column.items.iter().filter(|i| i.status != "no_show").count(),
                utilization: if working > 0 { booked * 100 / working } else { 0 },
                next,
            }
        })
        .collect();
    let (revenue, invoices) = if principal.can(Permission::ReportsRevenue) {
        let period = Period {
            location_id: location.id,
            from: today,
            to: today,
        };
        match state.app.revenue(&principal, &period, RevenueGroup::Day).await {
            Ok(rows) => (
                rupees(rows.iter().map(|r| r.total_paise).sum()),
                rows.iter().map(|r| r.documents).sum(),
            ),
            Err(e) => return page::app_error(e, &csrf),
        }
    } else {
        (String::new(), 0)
    };
    // From now (or the day's start, for another day) to the end of the next day.
    let day_start = |date: chrono::NaiveDate| {
        ftry_domain::schedule::start_instant(zone, date.and_time(chrono::NaiveTime::MIN)).unwrap_or(now)
    };
    let risks = if principal.can(Permission::CalendarRead) && principal.can(Permission::ClientsRead) {
        let from = day_start(today).max(now);
        let to = day_start(today + chrono::Days::new(2));
        match state.app.no_show_risks(&principal, location.id, from, to).await {
            Ok(risks) => Some(
                risks
                    .into_iter()
                    .map(|r| {
                        let at = r.starts_at.with_timezone(&zone);
                        RiskLine {
                            appointment: r.appointment_id,
                            when: if at.date_naive() == today {
                                at.format("%H:%M").to_string()
                            } else {
                                at.format("%a %H:%M").to_string()
                            },
                            client: r.client_name,
                            level: r.level,
                            reason: r.reason,
                        }
                    })
                    .collect(),
            ),
            Err(e) => return page::app_error(e, &csrf),
        }
    } else {
        None
    };
    let page = DashboardPage {
        chrome: Chrome::signed("Today", csrf, &principal),
        location_id: location.id,
        location_name: location.name.clone(),
        date_label: today.format("%A, %-d %B %Y").to_string(),
        visits: count(&["booked", "confirmed", "checked_in", "in_service", "completed"]),
        waiting: count(&["checked_in", "in_service"]),
        completed: count(&["completed"]),
        no_shows: count(&["no_show"]),
        staff,
        revenue,
        invoices,
        sells: principal.can(Permission::InvoicesCreate),
        risks,
    };
    html(StatusCode::OK, &page)
}

//! The calendar's day view: one column per staff member, their working hours
//! shaded, breaks and time off marked, each booked service placed at its
//! time, in the branch's own time zone. The same use case as
//! `GET /api/v1/locations/{id}/calendar` fills it, so a stylist sees only
//! their own column here too.

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Datelike, Days, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use ftry_api::AppState;
use ftry_app::calendar::{CalendarDay, Span};
use ftry_domain::permissions::Permission;
use serde::Deserialize;
use uuid::Uuid;

use crate::assets::MAX_ROWS;
use crate::page::{self, html, Chrome};
use crate::session::{signed_in, to_login, SignedIn};

/// Minutes per grid row.
const ROW_MINUTES: u32 = 5;

#[derive(Debug, Default, Deserialize)]
pub struct DayQuery {
    date: Option<String>,
    location: Option<String>,
}

struct LocationOption {
    id: Uuid,
    name: String,
    selected: bool,
}

struct HourMark {
    label: String,
    row: usize,
}

/// A shaded stretch of a column: working time, a break, time off.
struct Block {
    class: &'static str,
    label: &'static str,
    row: usize,
    span: usize,
}

struct ItemView {
    appointment: Uuid,
    item: Uuid,
    /// Whether it may be dragged to another time or person (booked or confirmed).
    movable: bool,
    row: usize,
    span: usize,
    status: String,
    status_label: &'static str,
    time: String,
    client: String,
    service: String,
}

struct Column {
    id: Uuid,
    name: String,
    colour: String,
    blocks: Vec<Block>,
    items: Vec<ItemView>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct DayPage {
    chrome: Chrome,
    location_id: Uuid,
    location_name: String,
    locations: Vec<LocationOption>,
    date_iso: String,
    date_label: String,
    prev: String,
    next: String,
    today: String,
    is_today: bool,
    closed: bool,
    /// The grid's first minute of the day (a click's time is counted from it).
    first_minute: u32,
    /// The front desk may book here (the form's links show).
    can_book: bool,
    rows: usize,
    hours: Vec<HourMark>,
    columns: Vec<Column>,
    booked: usize,
}

pub async fn day(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<DayQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path_and_query().map_or("/app/calendar", |p| p.as_str()));
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let wanted = match query.location.as_deref().filter(|l| !l.is_empty()) {
        None => None,
        Some(text) => match text.parse::<Uuid>() {
            Ok(id) => Some(id),
            Err(_) => {
                return page::error(
                    StatusCode::BAD_REQUEST,
                    "No such branch",
                    "The branch in the address is not valid. Pick a branch from the calendar.",
                    &csrf,
                )
            }
        },
    };
    let (locations, location) = match page::branch(&state, &principal, wanted, &csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let zone = page::zone(&location.timezone);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let date = match asked_date(query.date.as_deref(), today) {
        Ok(date) => date,
        Err(text) => return not_a_date(&text, &csrf),
    };
    let calendar = match state.app.calendar(&principal, location.id, date, 1).await {
        Ok(calendar) => calendar,
        Err(e) => return page::app_error(e, &csrf),
    };
    let Some(day) = calendar.days.into_iter().next() else {
        return page::app_error(
            ftry_app::AppError::Internal("a one-day calendar without its day".into()),
            &csrf,
        );
    };
    let (first, rows, hours, columns) = layout(&day, zone);
    let neighbour = |days: i64| {
        let moved = if days < 0 {
            date.checked_sub_days(Days::new(days.unsigned_abs()))
        } else {
            date.checked_add_days(Days::new(days.unsigned_abs()))
        };
        moved.unwrap_or(date).to_string()
    };
    let page = DayPage {
        chrome: Chrome::signed(
            format!("Calendar · {}", date.format("%-d %b %Y")),
            csrf,
            &principal,
        ),
        location_id: location.id,
        location_name: location.name.clone(),
        locations: locations
            .iter()
            .map(|l| LocationOption {
                id: l.id,
                name: l.name.clone(),
                selected: l.id == location.id,
            })
            .collect(),
        date_iso: date.to_string(),
        date_label: date.format("%A, %-d %B %Y").to_string(),
        prev: neighbour(-1),
        next: neighbour(1),
        today: today.to_string(),
        is_today: date == today,
        closed: day.closed,
        first_minute: first,
        can_book: principal.can(Permission::AppointmentsManage),
        rows,
        hours,
        booked: columns.iter().map(|c| c.items.len()).sum(),
        columns,
    };
    html(StatusCode::OK, &page)
}

/// The date a calendar page asks for, today when none; the text when it is
/// not a date.
fn asked_date(text: Option<&str>, today: NaiveDate) -> Result<NaiveDate, String> {
    match text.filter(|d| !d.is_empty()) {
        None => Ok(today),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| text.to_owned()),
    }
}

pub fn not_a_date(text: &str, csrf: &str) -> Response {
    page::error(
        StatusCode::BAD_REQUEST,
        "Not a date",
        format!("“{text}” is not a date. Use the date picker, or write it as YYYY-MM-DD."),
        csrf,
    )
}

/// Minutes after the day's local midnight, clamped to the day.
fn local_minutes(instant: DateTime<Utc>, zone: Tz, date: NaiveDate) -> u32 {
    let local = instant.with_timezone(&zone);
    match local.date_naive().cmp(&date) {
        std::cmp::Ordering::Less => 0,
        std::cmp::Ordering::Greater => 24 * 60,
        std::cmp::Ordering::Equal => local.hour() * 60 + local.minute(),
    }
}

pub(crate) fn status_label(status: &str) -> &'static str {
    match status {
        "booked" => "Booked",
        "confirmed" => "Confirmed",
        "checked_in" => "Checked in",
        "in_service" => "In service",
        "completed" => "Completed",
        "cancelled" => "Cancelled",
        "no_show" => "No-show",
        _ => "",
    }
}

/// The grid: the day's window in whole hours (the opening hours, widened to
/// any working time or booking outside them; 09:00–21:00 when there is
/// none), its five-minute rows, the hour marks and each column's blocks.
fn layout(day: &CalendarDay, zone: Tz) -> (u32, usize, Vec<HourMark>, Vec<Column>) {
    let date = day.date;
    let minutes = |span: &Span| {
        (
            local_minutes(span.start, zone, date),
            local_minutes(span.end, zone, date),
        )
    };
    let mut bounds: Vec<(u32, u32)> = day.open.iter().map(minutes).collect();
    for member in &day.staff {
        bounds.extend(member.working.iter().map(minutes));
        bounds.extend(member.items.iter().map(|item| {
            (
                local_minutes(item.starts_at, zone, date),
                local_minutes(item.ends_at, zone, date),
            )
        }));
    }
    let first = bounds.iter().map(|b| b.0).min().unwrap_or(9 * 60) / 60 * 60;
    let last = bounds.iter().map(|b| b.1).max().unwrap_or(21 * 60).div_ceil(60) * 60;
    let (first, last) = if last > first {
        (first, last.min(24 * 60))
    } else {
        (9 * 60, 21 * 60)
    };
    let rows = (((last - first) / ROW_MINUTES) as usize).clamp(1, MAX_ROWS);
    let place = |start: u32, end: u32| -> Option<(usize, usize)> {
        let start = start.clamp(first, last);
        let end = end.clamp(first, last);
        if end <= start {
            return None;
        }
        let row = ((start - first) / ROW_MINUTES) as usize;
        let span = ((end - start).div_ceil(ROW_MINUTES) as usize).max(1);
        Some((row, span.min(rows - row)))
    };
    let hours = (first / 60..last / 60)
        .map(|hour| HourMark {
            label: format!("{hour:02}:00"),
            row: ((hour * 60 - first) / ROW_MINUTES) as usize,
        })
        .collect();
    let columns = day
        .staff
        .iter()
        .map(|member| {
            let mut blocks = Vec::new();
            for (spans, class, label) in [
                (&member.working, "work", "Working"),
                (&member.breaks, "break", "Break"),
                (&member.time_off, "off", "Time off"),
            ] {
                blocks.extend(spans.iter().filter_map(|span| {
                    let (start, end) = minutes(span);
                    place(start, end).map(|(row, span)| Block {
                        class,
                        label,
                        row,
                        span,
                    })
                }));
            }
            let items = member
                .items
                .iter()
                .filter_map(|item| {
                    let start = local_minutes(item.starts_at, zone, date);
                    let end = local_minutes(item.ends_at, zone, date);
                    place(start, end).map(|(row, span)| ItemView {
                        appointment: item.appointment_id,
                        item: item.item_id,
                        movable: matches!(item.status.as_str(), "booked" | "confirmed"),
                        row,
                        span,
                        status: item.status.clone(),
                        status_label: status_label(&item.status),
                        time: format!(
                            "{}–{}",
                            item.starts_at.with_timezone(&zone).format("%H:%M"),
                            item.ends_at.with_timezone(&zone).format("%H:%M")
                        ),
                        client: item.client_name.clone(),
                        service: item.service_name.clone(),
                    })
                })
                .collect();
            Column {
                id: member.staff_id,
                name: member.name.clone(),
                colour: member.colour.clone(),
                blocks,
                items,
            }
        })
        .collect();
    (first, rows, hours, columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use ftry_app::calendar::{CalendarItem, StaffColumn};

    fn at(zone: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
        zone.from_local_datetime(&date.and_hms_opt(hour, minute, 0).expect("time"))
            .single()
            .expect("unambiguous")
            .with_timezone(&Utc)
    }

    #[test]
    fn places_items_on_five_minute_rows_of_the_local_day() {
        let zone = chrono_tz::Asia::Kolkata;
        let date = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        let span = |h1, m1, h2, m2| Span {
            start: at(zone, date, h1, m1),
            end: at(zone, date, h2, m2),
        };
        let item = CalendarItem {
            appointment_id: Uuid::nil(),
            item_id: Uuid::nil(),
            status: "checked_in".into(),
            service_name: "Haircut".into(),
            client_name: "Asha".into(),
            staff_id: Uuid::nil(),
            resource_id: None,
            starts_at: at(zone, date, 10, 15),
            ends_at: at(zone, date, 10, 55),
        };
        let day = CalendarDay {
            date,
            closed: false,
            open: vec![span(9, 30, 20, 30)],
            staff: vec![StaffColumn {
                staff_id: Uuid::nil(),
                name: "Meera".into(),
                colour: "#7c4dff".into(),
                working: vec![span(10, 0, 18, 0)],
                breaks: vec![span(13, 0, 13, 45)],
                time_off: vec![],
                items: vec![item],
            }],
        };
        let (first, rows, hours, columns) = layout(&day, zone);
        assert_eq!(first, 9 * 60);
        // 09:00 to 21:00: twelve hours of twelve rows.
        assert_eq!(rows, 144);
        assert_eq!(hours.len(), 12);
        assert_eq!((hours[1].label.as_str(), hours[1].row), ("10:00", 12));
        let column = &columns[0];
        let work = &column.blocks[0];
        assert_eq!((work.class, work.row, work.span), ("work", 12, 96));
        let lunch = &column.blocks[1];
        assert_eq!((lunch.class, lunch.row, lunch.span), ("break", 48, 9));
        let item = &column.items[0];
        assert_eq!((item.row, item.span), (15, 8));
        assert_eq!(item.time, "10:15–10:55");
        assert_eq!(item.status_label, "Checked in");
    }

    #[test]
    fn a_booking_past_midnight_is_cut_at_the_end_of_the_day() {
        let zone = chrono_tz::Asia::Kolkata;
        let date = NaiveDate::from_ymd_opt(2026, 12, 7).expect("date");
        let next = date.succ_opt().expect("next day");
        let late = Span {
            start: at(zone, date, 22, 0),
            end: at(zone, next, 1, 0),
        };
        assert_eq!(local_minutes(late.start, zone, date), 22 * 60);
        assert_eq!(local_minutes(late.end, zone, date), 24 * 60);
        let day = CalendarDay {
            date,
            closed: false,
            open: vec![late],
            staff: vec![],
        };
        let (first, rows, hours, _) = layout(&day, zone);
        assert_eq!((first, rows), (22 * 60, 24));
        assert_eq!(
            hours.iter().map(|h| h.label.as_str()).collect::<Vec<_>>(),
            ["22:00", "23:00"]
        );
    }
}

struct WeekItem {
    appointment: Uuid,
    time: String,
    client: String,
    service: String,
    status: String,
}

struct WeekCell {
    /// Working hours that day ("10:00–19:00"), empty on a day off.
    hours: String,
    off: bool,
    items: Vec<WeekItem>,
}

struct WeekRow {
    name: String,
    cells: Vec<WeekCell>,
}

struct WeekDay {
    iso: String,
    label: String,
    closed: bool,
    is_today: bool,
}

#[derive(Template)]
#[template(path = "week.html")]
struct WeekPage {
    chrome: Chrome,
    location_id: Uuid,
    location_name: String,
    range_label: String,
    prev: String,
    next: String,
    days: Vec<WeekDay>,
    rows: Vec<WeekRow>,
    booked: usize,
}

/// `GET /app/calendar/week`: the week (Monday to Sunday) of `date` at a
/// branch, a row per staff member and a column per day, each booked service
/// at its time; a stylist with only `calendar:own` sees their own row.
pub async fn week(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<DayQuery>, QueryRejection>,
) -> Response {
    let Some(SignedIn { principal, csrf }) = signed_in(&state, &headers).await else {
        return to_login(uri.path_and_query().map_or("/app/calendar/week", |p| p.as_str()));
    };
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let wanted = query.location.as_deref().and_then(|l| l.parse::<Uuid>().ok());
    let (_, location) = match page::branch(&state, &principal, wanted, &csrf).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let zone = page::zone(&location.timezone);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let date = match asked_date(query.date.as_deref(), today) {
        Ok(date) => date,
        Err(text) => return not_a_date(&text, &csrf),
    };
    let monday = date - Days::new(u64::from(date.weekday().num_days_from_monday()));
    let calendar = match state.app.calendar(&principal, location.id, monday, 7).await {
        Ok(calendar) => calendar,
        Err(e) => return page::app_error(e, &csrf),
    };
    // Everyone who appears on any day, in the calendar's order.
    let mut people: Vec<(Uuid, String)> = Vec::new();
    for day in &calendar.days {
        for column in &day.staff {
            if !people.iter().any(|(id, _)| *id == column.staff_id) {
                people.push((column.staff_id, column.name.clone()));
            }
        }
    }
    let hhmm = |at: DateTime<Utc>| at.with_timezone(&zone).format("%H:%M").to_string();
    let rows: Vec<WeekRow> = people
        .iter()
        .map(|(id, name)| WeekRow {
            name: name.clone(),
            cells: calendar
                .days
                .iter()
                .map(|day| match day.staff.iter().find(|c| c.staff_id == *id) {
                    None => WeekCell {
                        hours: String::new(),
                        off: true,
                        items: Vec::new(),
                    },
                    Some(column) => WeekCell {
                        hours: column
                            .working
                            .iter()
                            .map(|s| format!("{}–{}", hhmm(s.start), hhmm(s.end)))
                            .collect::<Vec<_>>()
                            .join(", "),
                        off: column.working.is_empty(),
                        items: column
                            .items
                            .iter()
                            .map(|item| WeekItem {
                                appointment: item.appointment_id,
                                time: format!("{}–{}", hhmm(item.starts_at), hhmm(item.ends_at)),
                                client: item.client_name.clone(),
                                service: item.service_name.clone(),
                                status: item.status.clone(),
                            })
                            .collect(),
                    },
                })
                .collect(),
        })
        .collect();
    let sunday = monday + Days::new(6);
    let page = WeekPage {
        chrome: Chrome::signed(
            format!("Week of {}", monday.format("%-d %b %Y")),
            csrf,
            &principal,
        ),
        location_id: location.id,
        location_name: location.name.clone(),
        range_label: format!("{} – {}", monday.format("%-d %b"), sunday.format("%-d %b %Y")),
        prev: (monday - Days::new(7)).to_string(),
        next: (monday + Days::new(7)).to_string(),
        days: calendar
            .days
            .iter()
            .map(|day| WeekDay {
                iso: day.date.to_string(),
                label: day.date.format("%a %-d").to_string(),
                closed: day.closed,
                is_today: day.date == today,
            })
            .collect(),
        booked: rows
            .iter()
            .flat_map(|r| r.cells.iter())
            .map(|c| c.items.len())
            .sum(),
        rows,
    };
    html(StatusCode::OK, &page)
}

//! Staff: profiles, the services each person performs (with their own price
//! and duration), weekly working hours and breaks per branch, and time off.
//! Writes find the staff member first (404), then check the body (422), then
//! what it refers to (404), as in the catalog.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Event, Origin};
use ftry_store::catalog::{self, WeeklyInterval};
use ftry_store::staff::{self, ServiceOverride, Staff, StaffFields, StaffService, TimeOff};
use ftry_store::users;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalog::{
    nullable, on_constraint, own_locations, parse_week, require, week_days, within, Constraint, Span,
};
use crate::error::{AppError, Validator};
use crate::{App, Principal};

/// Calendar colours given in turn to new staff who do not choose one.
const PALETTE: [&str; 8] = [
    "#7c4dff", "#00897b", "#e53935", "#fb8c00", "#3949ab", "#8e24aa", "#43a047", "#d81b60",
];
const MAX_PRICE_PAISE: i64 = 100_000_000;
const MAX_TIME_OFF_DAYS: i64 = 366;

const USER_TAKEN: &[Constraint] = &[Constraint {
    name: "staff_tenant_id_user_id_key",
    code: "user_already_staff",
    detail: "That account already belongs to another staff member.",
}];
const HOURS_OVERLAP: &[Constraint] = &[Constraint {
    name: "staff_hours_tenant_id_staff_id_weekday_kind_int4range_excl",
    code: "staff_hours_overlap",
    detail: "These hours overlap the staff member's hours at another branch on the same weekday.",
}];
const TIME_OFF_OVERLAP: &[Constraint] = &[Constraint {
    name: "time_off_tenant_id_staff_id_period_excl",
    code: "time_off_overlaps",
    detail: "This overlaps time off already recorded for this staff member.",
}];

/// A new staff member, or the fields of one to change (absent = unchanged).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffInput {
    /// 1–120 characters; required when creating.
    pub name: Option<String>,
    /// Up to 80 characters, e.g. "Senior Stylist".
    pub title: Option<String>,
    /// `#rrggbb`; new staff get the next colour of a palette when absent.
    pub colour: Option<String>,
    pub display_order: Option<i32>,
    pub active: Option<bool>,
    pub bookable_online: Option<bool>,
    /// The account of this business the person logs in with; `null` for none.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Uuid>)]
    pub user_id: Option<Option<Uuid>>,
}

/// A staff member with the services they perform and their weekly hours.
#[derive(Debug, Clone, Serialize)]
pub struct StaffDetail {
    #[serde(flatten)]
    pub staff: Staff,
    pub services: Vec<StaffService>,
    pub hours: Vec<StaffSchedule>,
}

/// Someone's week at one branch.
#[derive(Debug, Clone, Serialize)]
pub struct StaffSchedule {
    pub location_id: Uuid,
    pub days: Vec<WorkingDay>,
}

/// One day of someone's week at one branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingDay {
    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub weekday: i16,
    /// Working intervals, e.g. `[["09:00", "13:00"], ["14:00", "19:00"]]`.
    #[serde(default)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub work: Vec<Span>,
    /// Breaks, each inside a working interval.
    #[serde(default)]
    #[schema(value_type = Vec<Vec<String>>)]
    pub breaks: Vec<Span>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffHoursRequest {
    /// The branch whose week this is (required); other branches keep theirs.
    pub location_id: Option<Uuid>,
    /// The whole week there (required); a day not listed is a day off.
    pub days: Option<Vec<WorkingDay>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffServicesRequest {
    /// Every service the person performs (required; replaces the list).
    pub services: Option<Vec<StaffServiceInput>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffServiceInput {
    pub service_id: Uuid,
    /// Their own price in paise; absent or `null` = the service's price.
    pub price_paise: Option<i64>,
    /// Their own duration (5–720 min); absent or `null` = the service's.
    pub duration_minutes: Option<i32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeOffRequest {
    /// RFC 3339 (required).
    pub starts_at: Option<DateTime<Utc>>,
    /// RFC 3339, after `starts_at` (required); the end is excluded.
    pub ends_at: Option<DateTime<Utc>>,
    /// Up to 200 characters.
    pub reason: Option<String>,
}

/// The window of a time-off listing; either end may be open.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeOffWindow {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

fn check_colour(v: &mut Validator, value: &str) -> String {
    let colour = value.trim().to_ascii_lowercase();
    let valid =
        colour.len() == 7 && colour.starts_with('#') && colour[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        v.push("colour", "must be #rrggbb, e.g. #7c4dff");
    }
    colour
}

fn check_staff(input: &StaffInput, mut f: StaffFields) -> Result<StaffFields, AppError> {
    let mut v = Validator::default();
    if let Some(name) = &input.name {
        f.name = v.text("name", name, 120).unwrap_or_default();
    }
    if let Some(title) = &input.title {
        f.title = v.optional_text("title", Some(title), 80).unwrap_or_default();
    }
    if let Some(colour) = &input.colour {
        f.colour = check_colour(&mut v, colour);
    }
    if let Some(order) = input.display_order {
        f.display_order = order;
    }
    if let Some(active) = input.active {
        f.active = active;
    }
    if let Some(bookable) = input.bookable_online {
        f.bookable_online = bookable;
    }
    if let Some(user_id) = input.user_id {
        f.user_id = user_id;
    }
    v.finish()?;
    Ok(f)
}

/// The account a profile names must be one of this business's (else 404).
async fn check_user(conn: &mut sqlx::PgConnection, user_id: Option<Uuid>) -> Result<(), AppError> {
    match user_id {
        Some(id) if users::get(conn, id).await?.is_none() => Err(AppError::NotFound),
        _ => Ok(()),
    }
}

/// Rows of someone's hours as one schedule per branch.
fn schedules(rows: Vec<staff::HoursRow>) -> Vec<StaffSchedule> {
    let mut by_location: BTreeMap<Uuid, (Vec<WeeklyInterval>, Vec<WeeklyInterval>)> = BTreeMap::new();
    for row in rows {
        let (work, breaks) = by_location.entry(row.location_id).or_default();
        match row.kind.as_str() {
            "work" => work.push(row.interval),
            _ => breaks.push(row.interval),
        }
    }
    by_location
        .into_iter()
        .map(|(location_id, (work, breaks))| StaffSchedule {
            location_id,
            days: week_days(&work, &breaks)
                .into_iter()
                .map(|(weekday, work, breaks)| WorkingDay {
                    weekday,
                    work,
                    breaks,
                })
                .collect(),
        })
        .collect()
}

async fn schedule_at(
    conn: &mut sqlx::PgConnection,
    staff_id: Uuid,
    location_id: Uuid,
) -> Result<StaffSchedule, AppError> {
    let rows = staff::hours(conn, staff_id).await?;
    let at_location = rows
        .into_iter()
        .filter(|r| r.location_id == location_id)
        .collect();
    Ok(schedules(at_location).pop().unwrap_or(StaffSchedule {
        location_id,
        days: Vec::new(),
    }))
}

async fn create_staff_in(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    input: &StaffInput,
    origin: &Origin,
) -> Result<Staff, AppError> {
    require(&[("name", input.name.is_some())])?;
    let existing = staff::list(&mut *tx).await?.len();
    let blank = StaffFields {
        user_id: None,
        name: String::new(),
        title: String::new(),
        colour: PALETTE[existing % PALETTE.len()].to_owned(),
        display_order: 0,
        active: true,
        bookable_online: true,
    };
    let fields = check_staff(input, blank)?;
    check_user(&mut *tx, fields.user_id).await?;
    let id = Uuid::now_v7();
    staff::insert(&mut *tx, principal.tenant_id, id, &fields)
        .await
        .map_err(on_constraint(USER_TAKEN))?;
    let created = staff::get(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    audit::record(
        &mut *tx,
        principal.tenant_id,
        origin,
        Event::new(principal.actor(), "staff.created", "staff", id).after(&created),
    )
    .await?;
    Ok(created)
}

/// Replace the services someone performs (the caller has checked `staff:manage`).
async fn set_services_in(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    id: Uuid,
    request: &StaffServicesRequest,
    origin: &Origin,
) -> Result<Vec<StaffService>, AppError> {
    staff::lock(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    let Some(items) = &request.services else {
        return Err(AppError::invalid("services", "is required"));
    };
    let mut v = Validator::default();
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        if !seen.insert(item.service_id) {
            v.push(
                &format!("services[{i}].service_id"),
                "lists a service already listed",
            );
        }
        if let Some(price) = item.price_paise {
            within(
                &mut v,
                &format!("services[{i}].price_paise"),
                price,
                0..=MAX_PRICE_PAISE,
            );
        }
        if let Some(minutes) = item.duration_minutes {
            within(
                &mut v,
                &format!("services[{i}].duration_minutes"),
                minutes,
                5..=720,
            );
        }
    }
    v.finish()?;
    let ids: Vec<Uuid> = seen.into_iter().collect();
    let services = catalog::services_by_id(&mut *tx, &ids).await?;
    if services.len() != ids.len() {
        return Err(AppError::NotFound);
    }
    let mut v = Validator::default();
    for (i, item) in items.iter().enumerate() {
        let gap_end = services
            .iter()
            .find(|s| s.id == item.service_id)
            .and_then(|s| Some(s.fields.processing_offset_minutes? + s.fields.processing_minutes?));
        if let (Some(minutes), Some(gap_end)) = (item.duration_minutes, gap_end) {
            if minutes <= gap_end {
                v.push(
                    &format!("services[{i}].duration_minutes"),
                    format!("must be more than {gap_end}, where the service's processing gap ends"),
                );
            }
        }
    }
    v.finish()?;
    let before = staff::services(&mut *tx, id).await?;
    let overrides: Vec<ServiceOverride> = items
        .iter()
        .map(|item| ServiceOverride {
            service_id: item.service_id,
            price_paise: item.price_paise,
            duration_minutes: item.duration_minutes,
        })
        .collect();
    staff::set_services(&mut *tx, principal.tenant_id, id, &overrides).await?;
    let after = staff::services(&mut *tx, id).await?;
    audit::record(
        &mut *tx,
        principal.tenant_id,
        origin,
        Event::new(principal.actor(), "staff.services_replaced", "staff", id)
            .before(&before)
            .after(&after),
    )
    .await?;
    Ok(after)
}

/// Replace someone's weekly hours at one branch (the caller has checked `staff:manage`).
async fn set_hours_in(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    id: Uuid,
    request: &StaffHoursRequest,
    origin: &Origin,
) -> Result<StaffSchedule, AppError> {
    staff::lock(&mut *tx, id).await?.ok_or(AppError::NotFound)?;
    require(&[
        ("location_id", request.location_id.is_some()),
        ("days", request.days.is_some()),
    ])?;
    let (Some(location_id), Some(days)) = (request.location_id, &request.days) else {
        return Err(AppError::Internal("validation passed without values".into()));
    };
    let mut v = Validator::default();
    let (work, breaks) = parse_week(
        &mut v,
        days.iter()
            .map(|d| (d.weekday, d.work.as_slice(), d.breaks.as_slice())),
    );
    v.finish()?;
    own_locations(&mut *tx, &[location_id]).await?;
    let before = schedule_at(&mut *tx, id, location_id).await?;
    staff::set_hours(&mut *tx, principal.tenant_id, id, location_id, &work, &breaks)
        .await
        .map_err(on_constraint(HOURS_OVERLAP))?;
    let after = schedule_at(&mut *tx, id, location_id).await?;
    audit::record(
        &mut *tx,
        principal.tenant_id,
        origin,
        Event::new(principal.actor(), "staff.hours_replaced", "staff", id)
            .before(&before)
            .after(&after),
    )
    .await?;
    Ok(after)
}

async fn update_staff_in(
    tx: &mut sqlx::PgConnection,
    principal: &Principal,
    id: Uuid,
    input: &StaffInput,
    origin: &Origin,
) -> Result<Staff, AppError> {
    let before = staff::lock(tx, id).await?.ok_or(AppError::NotFound)?;
    let fields = check_staff(input, before.fields.clone())?;
    check_user(tx, fields.user_id).await?;
    staff::update(tx, id, &fields)
        .await
        .map_err(on_constraint(USER_TAKEN))?;
    let after = staff::get(tx, id).await?.ok_or(AppError::NotFound)?;
    audit::record(
        tx,
        principal.tenant_id,
        origin,
        Event::new(principal.actor(), "staff.updated", "staff", id)
            .before(&before)
            .after(&after),
    )
    .await?;
    Ok(after)
}

impl App {
    pub async fn staff_list(&self, principal: &Principal) -> Result<Vec<Staff>, AppError> {
        principal.require(Permission::StaffRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = staff::list(&mut tx).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Everyone with their services, their weeks and their time off from
    /// `from` on, in four queries whatever the head count (the staff page).
    pub async fn staff_overview(
        &self,
        principal: &Principal,
        from: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(StaffDetail, Vec<staff::TimeOff>)>, AppError> {
        principal.require(Permission::StaffRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let people = staff::list(&mut tx).await?;
        let ids: Vec<Uuid> = people.iter().map(|p| p.id).collect();
        let services = staff::services_of_each(&mut tx, &ids).await?;
        let hours = staff::hours_of_each(&mut tx, &ids).await?;
        let away = staff::time_off_of_each(&mut tx, &ids, Some(from), None).await?;
        tx.commit().await?;
        let mut services_of: HashMap<Uuid, Vec<StaffService>> = HashMap::new();
        for (id, service) in services {
            services_of.entry(id).or_default().push(service);
        }
        let mut hours_of: HashMap<Uuid, Vec<staff::HoursRow>> = HashMap::new();
        for (id, row) in hours {
            hours_of.entry(id).or_default().push(row);
        }
        let mut away_of: HashMap<Uuid, Vec<staff::TimeOff>> = HashMap::new();
        for time_off in away {
            away_of.entry(time_off.staff_id).or_default().push(time_off);
        }
        Ok(people
            .into_iter()
            .map(|person| {
                let detail = StaffDetail {
                    services: services_of.remove(&person.id).unwrap_or_default(),
                    hours: schedules(hours_of.remove(&person.id).unwrap_or_default()),
                    staff: person,
                };
                let away = away_of.remove(&detail.staff.id).unwrap_or_default();
                (detail, away)
            })
            .collect())
    }

    pub async fn staff_member(&self, principal: &Principal, id: Uuid) -> Result<StaffDetail, AppError> {
        principal.require(Permission::StaffRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let staff = staff::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let services = staff::services(&mut tx, id).await?;
        let hours = schedules(staff::hours(&mut tx, id).await?);
        tx.commit().await?;
        Ok(StaffDetail {
            staff,
            services,
            hours,
        })
    }

    pub async fn create_staff(
        &self,
        principal: &Principal,
        input: &StaffInput,
        origin: &Origin,
    ) -> Result<Staff, AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let created = create_staff_in(&mut tx, principal, input, origin).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// A new staff member with the services they do and their weekly hours at
    /// one branch, in one transaction: a refusal of any part adds nobody.
    pub async fn add_staff_member(
        &self,
        principal: &Principal,
        input: &StaffInput,
        services: &StaffServicesRequest,
        hours: &StaffHoursRequest,
        origin: &Origin,
    ) -> Result<StaffDetail, AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let staff = create_staff_in(&mut tx, principal, input, origin).await?;
        let services = set_services_in(&mut tx, principal, staff.id, services, origin).await?;
        let schedule = set_hours_in(&mut tx, principal, staff.id, hours, origin).await?;
        tx.commit().await?;
        Ok(StaffDetail {
            staff,
            services,
            hours: vec![schedule],
        })
    }

    pub async fn update_staff(
        &self,
        principal: &Principal,
        id: Uuid,
        input: &StaffInput,
        origin: &Origin,
    ) -> Result<Staff, AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let after = update_staff_in(&mut tx, principal, id, input, origin).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Change a staff member, the services they do and their weekly hours at
    /// one branch, in one transaction: a refusal of any part changes nothing.
    pub async fn change_staff_member(
        &self,
        principal: &Principal,
        id: Uuid,
        input: &StaffInput,
        services: &StaffServicesRequest,
        hours: &StaffHoursRequest,
        origin: &Origin,
    ) -> Result<StaffDetail, AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let staff = update_staff_in(&mut tx, principal, id, input, origin).await?;
        let services = set_services_in(&mut tx, principal, id, services, origin).await?;
        let schedule = set_hours_in(&mut tx, principal, id, hours, origin).await?;
        tx.commit().await?;
        Ok(StaffDetail {
            staff,
            services,
            hours: vec![schedule],
        })
    }

    /// Replace the services someone performs, with their own prices and durations.
    pub async fn set_staff_services(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &StaffServicesRequest,
        origin: &Origin,
    ) -> Result<Vec<StaffService>, AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let after = set_services_in(&mut tx, principal, id, request, origin).await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Replace someone's weekly hours at one branch.
    pub async fn set_staff_hours(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &StaffHoursRequest,
        origin: &Origin,
    ) -> Result<StaffSchedule, AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let after = set_hours_in(&mut tx, principal, id, request, origin).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn time_off(
        &self,
        principal: &Principal,
        id: Uuid,
        window: &TimeOffWindow,
    ) -> Result<Vec<TimeOff>, AppError> {
        principal.require(Permission::StaffRead)?;
        if let (Some(from), Some(to)) = (window.from, window.to) {
            if from >= to {
                return Err(AppError::invalid("to", "must be after `from`"));
            }
        }
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        staff::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let list = staff::time_off(&mut tx, id, window.from, window.to).await?;
        tx.commit().await?;
        Ok(list)
    }

    pub async fn add_time_off(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &TimeOffRequest,
        origin: &Origin,
    ) -> Result<TimeOff, AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        staff::lock(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        require(&[
            ("starts_at", request.starts_at.is_some()),
            ("ends_at", request.ends_at.is_some()),
        ])?;
        let (Some(starts_at), Some(ends_at)) = (request.starts_at, request.ends_at) else {
            return Err(AppError::Internal("validation passed without values".into()));
        };
        let mut v = Validator::default();
        if ends_at <= starts_at {
            v.push("ends_at", "must be after starts_at");
        } else if ends_at - starts_at > Duration::days(MAX_TIME_OFF_DAYS) {
            v.push(
                "ends_at",
                format!("time off lasts at most {MAX_TIME_OFF_DAYS} days"),
            );
        }
        let reason = v
            .optional_text("reason", request.reason.as_deref(), 200)
            .unwrap_or_default();
        v.finish()?;
        let created = staff::insert_time_off(&mut tx, principal.tenant_id, id, starts_at, ends_at, &reason)
            .await
            .map_err(on_constraint(TIME_OFF_OVERLAP))?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "staff.time_off_added", "time_off", created.id).after(&created),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    pub async fn remove_time_off(
        &self,
        principal: &Principal,
        id: Uuid,
        time_off_id: Uuid,
        origin: &Origin,
    ) -> Result<(), AppError> {
        principal.require(Permission::StaffManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let removed = staff::delete_time_off(&mut tx, id, time_off_id)
            .await?
            .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(
                principal.actor(),
                "staff.time_off_removed",
                "time_off",
                time_off_id,
            )
            .before(&removed),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

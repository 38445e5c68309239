//! Appointments at the front desk: book, look up, move through their
//! statuses, cancel, reschedule. Booking itself is in `booking.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ftry_domain::appointments::Status;
use ftry_domain::permissions::Permission;
use ftry_store::appointments::{self, Appointment, HistoryEvent, Item};
use ftry_store::audit::{self, Event, Origin};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, Validator};
use crate::{App, Principal};

/// An appointment with its items, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppointmentView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub appointment: Appointment,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Item>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// The new status: confirmed, checked_in, in_service, completed, no_show (cancel has its own endpoint).
    pub status: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    pub reason: String,
}

pub(crate) async fn view(
    conn: &mut sqlx::PgConnection,
    appointment: Appointment,
) -> Result<AppointmentView, AppError> {
    let items = appointments::items(conn, &[appointment.id]).await?;
    Ok(AppointmentView { appointment, items })
}

/// Who is acting, for appointment history.
pub(crate) fn actor_label(principal: &Principal) -> String {
    format!("user:{}", principal.user_id)
}

/// A visit with its client's record: id, start, client, status, source,
/// missed visits, visits attended.
type RiskRow = (Uuid, DateTime<Utc>, String, String, String, i64, i64);

/// A visit that may be missed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NoShowRisk {
    pub appointment_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub client_name: String,
    /// `high` or `medium`.
    pub level: &'static str,
    pub reason: String,
    #[serde(skip)]
    high: bool,
}

impl App {
    /// Whether this principal may see this appointment: everyone's with
    /// `calendar:read`, only their own items' with `calendar:own`.
    async fn may_see(
        &self,
        conn: &mut sqlx::PgConnection,
        principal: &Principal,
        items: &[Item],
    ) -> Result<bool, AppError> {
        if principal.can(Permission::CalendarRead) {
            return Ok(true);
        }
        if !principal.can(Permission::CalendarOwn) {
            return Ok(false);
        }
        let own = ftry_store::staff::id_for_user(conn, principal.user_id).await?;
        Ok(own.is_some_and(|staff| items.iter().any(|i| i.staff_id == staff)))
    }

    pub async fn appointment(&self, principal: &Principal, id: Uuid) -> Result<AppointmentView, AppError> {
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let appointment = appointments::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let view = view(&mut tx, appointment).await?;
        if !self.may_see(&mut tx, principal, &view.items).await? {
            return Err(AppError::NotFound);
        }
        tx.commit().await?;
        Ok(view)
    }

    pub async fn appointment_history(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> Result<Vec<HistoryEvent>, AppError> {
        principal.require(Permission::CalendarRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        appointments::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let events = appointments::history(&mut tx, id).await?;
        tx.commit().await?;
        Ok(events)
    }

    /// Appointments of a location overlapping `[from, to)`; at most 31 days.
    pub async fn appointments(
        &self,
        principal: &Principal,
        location_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AppointmentView>, AppError> {
        principal.require(Permission::CalendarRead)?;
        if to <= from || to - from > chrono::Duration::days(31) {
            return Err(AppError::invalid(
                "to",
                "must be after `from`, at most 31 days later",
            ));
        }
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        ftry_store::tenants::get_location(&mut tx, location_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let list = appointments::list(&mut tx, location_id, from, to).await?;
        let ids: Vec<Uuid> = list.iter().map(|a| a.id).collect();
        let items = appointments::items(&mut tx, &ids).await?;
        tx.commit().await?;
        let mut items = by_appointment(items);
        Ok(with_items(list, &mut items))
    }

    /// Move an appointment to its next status (confirm, check in, start,
    /// complete, no-show). A no-show frees the time.
    pub async fn change_status(
        &self,
        principal: &Principal,
        id: Uuid,
        change: &StatusChange,
        origin: &Origin,
    ) -> Result<AppointmentView, AppError> {
        let Some(next) = Status::parse(&change.status).filter(|s| *s != Status::Cancelled) else {
            return Err(AppError::invalid(
                "status",
                "must be one of confirmed, checked_in, in_service, completed, no_show",
            ));
        };
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let appointment = appointments::get_for_update(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let items = appointments::items(&mut tx, &[id]).await?;
        let own_only = !principal.can(Permission::AppointmentsManage);
        if !self.may_see(&mut tx, principal, &items).await? {
            return Err(AppError::NotFound);
        }
        // A stylist may move their own appointment along the service, nothing else.
        if own_only && !matches!(next, Status::InService | Status::Completed) {
            principal.require(Permission::AppointmentsManage)?;
        }
        let current =
            Status::parse(&appointment.status).ok_or_else(|| AppError::Internal("unknown status".into()))?;
        if !current.can_become(next) {
            return Err(AppError::conflict(
                "invalid_transition",
                format!(
                    "An appointment that is {} cannot become {}; next can be: {}.",
                    current.name(),
                    next.name(),
                    list(current.next())
                ),
            ));
        }
        appointments::set_status(&mut tx, id, next.name(), next.holds_time()).await?;
        appointments::record_event(
            &mut tx,
            principal.tenant_id,
            id,
            appointments::HistoryEntry {
                kind: "status_changed",
                from_status: Some(current.name()),
                to_status: Some(next.name()),
                details: serde_json::json!({}),
                actor: &actor_label(principal),
            },
        )
        .await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "appointment.status_changed", "appointment", id)
                .before(serde_json::json!({ "status": current.name() }))
                .after(serde_json::json!({ "status": next.name() })),
        )
        .await?;
        appointments::emit(
            &mut tx,
            principal.tenant_id,
            &format!("appointment.{}", next.name()),
            id,
            serde_json::json!({ "from": current.name(), "by": actor_label(principal) }),
        )
        .await?;
        let appointment = appointments::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let view = view(&mut tx, appointment).await?;
        tx.commit().await?;
        self.business.status_changed(principal.tenant_id, next.name());
        Ok(view)
    }

    /// Cancel: the time is free again at once.
    pub async fn cancel_appointment(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &CancelRequest,
        origin: &Origin,
    ) -> Result<AppointmentView, AppError> {
        principal.require(Permission::AppointmentsManage)?;
        let mut v = Validator::default();
        let reason = v.text("reason", &request.reason, 500);
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let view = cancel_in(
            &mut tx,
            principal.tenant_id,
            id,
            &reason.unwrap_or_default(),
            &actor_label(principal),
        )
        .await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "appointment.cancelled", "appointment", id),
        )
        .await?;
        tx.commit().await?;
        self.business.status_changed(principal.tenant_id, "cancelled");
        Ok(view)
    }
}

/// Cancel inside an open transaction (front desk or the client's own link).
pub(crate) async fn cancel_in(
    tx: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    id: Uuid,
    reason: &str,
    actor: &str,
) -> Result<AppointmentView, AppError> {
    let appointment = appointments::get_for_update(tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let current =
        Status::parse(&appointment.status).ok_or_else(|| AppError::Internal("unknown status".into()))?;
    if !current.can_become(Status::Cancelled) {
        return Err(AppError::conflict(
            "invalid_transition",
            format!("An appointment that is {} cannot be cancelled.", current.name()),
        ));
    }
    appointments::cancel(tx, id, reason, actor).await?;
    appointments::record_event(
        tx,
        tenant_id,
        id,
        appointments::HistoryEntry {
            kind: "cancelled",
            from_status: Some(current.name()),
            to_status: Some(Status::Cancelled.name()),
            details: serde_json::json!({ "reason": reason }),
            actor,
        },
    )
    .await?;
    appointments::emit(
        tx,
        tenant_id,
        "appointment.cancelled",
        id,
        serde_json::json!({ "by": actor }),
    )
    .await?;
    let appointment = appointments::get(tx, id).await?.ok_or(AppError::NotFound)?;
    view(tx, appointment).await
}

fn list(statuses: &[Status]) -> String {
    if statuses.is_empty() {
        return "nothing (it is final)".into();
    }
    statuses.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

/// "When can these services be booked?" for the front desk.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AvailabilityQuery {
    /// The services of the visit, in order.
    pub services: Vec<Uuid>,
    /// Per service, the staff member wanted; absent or shorter = any.
    pub staff: Vec<Option<Uuid>>,
    pub first_date: chrono::NaiveDate,
    pub last_date: chrono::NaiveDate,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookRequest {
    pub location_id: Uuid,
    pub client_id: Uuid,
    /// When the visit starts (RFC 3339, any offset). Give this or `start_local`.
    pub start: Option<DateTime<Utc>>,
    /// The wall-clock start in the location's zone (`2026-12-01T10:30`); a time
    /// the clocks skip (DST) is refused.
    pub start_local: Option<chrono::NaiveDateTime>,
    /// The services, in the order they are done; each starts when the previous ends.
    pub items: Vec<crate::booking::ItemRequest>,
    /// `front_desk` (default) or `walk_in`.
    pub source: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleRequest {
    /// The new start.
    pub start: DateTime<Utc>,
    /// New services/staff; absent = the same services with the same staff.
    pub items: Option<Vec<crate::booking::ItemRequest>>,
}

/// The answer of an idempotent create: replayed as it was the first time.
pub struct Created {
    pub status: u16,
    pub body: serde_json::Value,
}

impl App {
    pub async fn availability(
        &self,
        principal: &Principal,
        location_id: Uuid,
        query: &AvailabilityQuery,
    ) -> Result<Vec<ftry_domain::availability::Slot>, AppError> {
        principal.require(Permission::CalendarRead)?;
        let started = std::time::Instant::now();
        let search = crate::schedule_cache::Search {
            tenant_id: principal.tenant_id,
            location_id,
            first: query.first_date,
            last: query.last_date,
            online: false,
            services: &query.services,
            version: principal.versions.map(|v| v.schedule),
        };
        let found = self.schedules.slots(&self.pools, &search, query).await;
        tracing::debug!(
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "availability computed"
        );
        found
    }

    /// Book a visit at the front desk. With an idempotency key, a retry
    /// returns the first answer and books nothing twice.
    pub async fn book(
        &self,
        principal: &Principal,
        request: &BookRequest,
        idempotency_key: Option<&str>,
        origin: &Origin,
    ) -> Result<Created, AppError> {
        self.book_for(principal, request, None, idempotency_key, origin)
            .await
    }

    /// Book a visit at the front desk for a client known by phone, or added
    /// in the same transaction when nobody has the number: a refused booking
    /// adds nobody, and a repeated request (same key) finds what the first
    /// did. `request.client_id` is not read.
    pub async fn book_at_desk(
        &self,
        principal: &Principal,
        client: &crate::clients::DeskClient,
        request: &BookRequest,
        idempotency_key: Option<&str>,
        origin: &Origin,
    ) -> Result<Created, AppError> {
        self.book_for(principal, request, Some(client), idempotency_key, origin)
            .await
    }

    async fn book_for(
        &self,
        principal: &Principal,
        request: &BookRequest,
        desk_client: Option<&crate::clients::DeskClient>,
        idempotency_key: Option<&str>,
        origin: &Origin,
    ) -> Result<Created, AppError> {
        principal.require(Permission::AppointmentsManage)?;
        let source = match request.source.as_deref().unwrap_or("front_desk") {
            source @ ("front_desk" | "walk_in") => source,
            _ => return Err(AppError::invalid("source", "must be front_desk or walk_in")),
        };
        let mut v = Validator::default();
        let notes = v
            .optional_text("notes", request.notes.as_deref(), 2000)
            .unwrap_or_default();
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let fingerprint = match desk_client {
            None => crate::tokens::sha256(&format!("{request:?}")),
            Some(client) => crate::tokens::sha256(&format!("{request:?} {client:?}")),
        };
        if let Some(key) = idempotency_key {
            if let Some(answer) =
                crate::idempotency::claim(&mut tx, principal.tenant_id, "appointments", key, &fingerprint)
                    .await?
            {
                return Ok(answer);
            }
        }
        let client_id = match desk_client {
            Some(client) => self.desk_client_in(&mut tx, principal, client, origin).await?,
            None => {
                let client_known: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM clients WHERE id = $1 AND merged_into IS NULL)",
                )
                .bind(request.client_id)
                .fetch_one(&mut *tx)
                .await?;
                if !client_known {
                    return Err(AppError::NotFound);
                }
                request.client_id
            }
        };
        let date = match (request.start, request.start_local) {
            (Some(start), None) => start.date_naive(),
            (None, Some(local)) => local.date(),
            _ => {
                return Err(AppError::invalid(
                    "start",
                    "give exactly one of `start` and `start_local`",
                ))
            }
        };
        let loaded = crate::booking::load(
            &mut tx,
            &self.pools.metrics,
            request.location_id,
            date.pred_opt().unwrap_or(date),
            date.succ_opt().unwrap_or(date),
            false,
            None,
            crate::booking::VisitNeeds::of(&request.items).only(),
        )
        .await?;
        let start = match (request.start, request.start_local) {
            (Some(start), _) => start,
            (None, Some(local)) => {
                ftry_domain::schedule::start_instant(loaded.zone(), local).ok_or_else(|| {
                    crate::booking::visit_error(ftry_domain::availability::VisitError::InDstGap)
                })?
            }
            (None, None) => return Err(AppError::invalid("start", "give `start` or `start_local`")),
        };
        let slot = crate::booking::plan(&loaded, &request.items, start, Utc::now())?;
        let id = Uuid::now_v7();
        let items = crate::booking::items_to_insert(&loaded, &slot);
        appointments::insert(
            &mut tx,
            principal.tenant_id,
            &appointments::NewAppointment {
                id,
                location_id: request.location_id,
                client_id,
                source,
                starts_at: slot.start,
                ends_at: crate::booking::visit_end(&slot),
                notes: &notes,
                created_by: Some(principal.user_id),
                manage_token_hash: None,
            },
        )
        .await?;
        appointments::record_event(
            &mut tx,
            principal.tenant_id,
            id,
            appointments::HistoryEntry {
                kind: "created",
                from_status: None,
                to_status: Some(Status::Booked.name()),
                details: serde_json::json!({ "source": source }),
                actor: &actor_label(principal),
            },
        )
        .await?;
        // Notifications turn this into the client's confirmation.
        appointments::emit(
            &mut tx,
            principal.tenant_id,
            "appointment.booked",
            id,
            serde_json::json!({ "source": source, "client_id": client_id }),
        )
        .await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "appointment.booked", "appointment", id).after(
                serde_json::json!({ "starts_at": slot.start, "items": slot.items.len(), "source": source }),
            ),
        )
        .await?;
        // The items last: writing them takes the staff members' (and
        // resources') turn, held to the commit, so everything else is
        // written before it.
        crate::booking::insert_items(
            &mut tx,
            principal.tenant_id,
            id,
            request.location_id,
            &items,
            true,
        )
        .await?;
        let appointment = appointments::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let body = serde_json::to_value(view(&mut tx, appointment).await?).unwrap_or_default();
        if let Some(key) = idempotency_key {
            crate::idempotency::record(&mut tx, "appointments", key, 201, &body).await?;
        }
        tx.commit().await?;
        self.business.booked(principal.tenant_id, source);
        Ok(Created { status: 201, body })
    }

    /// Move a visit to another time (and optionally other staff); its history keeps the old time.
    pub async fn reschedule(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &RescheduleRequest,
        origin: &Origin,
    ) -> Result<AppointmentView, AppError> {
        principal.require(Permission::AppointmentsManage)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let appointment = appointments::get_for_update(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let before = view(&mut tx, appointment.clone()).await?;
        let view = crate::booking::reschedule_in(
            &mut tx,
            &self.pools.metrics,
            principal.tenant_id,
            &appointment,
            &before.items,
            request,
            &actor_label(principal),
            // The front desk moves visits under its own rules, as it books them.
            false,
        )
        .await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "appointment.rescheduled", "appointment", id)
                .before(serde_json::json!({ "starts_at": before.appointment.starts_at }))
                .after(serde_json::json!({ "starts_at": view.appointment.starts_at })),
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }
}

/// Bookable starts for a query.
pub(crate) fn slots_at(
    loaded: &crate::booking::Loaded,
    query: &AvailabilityQuery,
    now: DateTime<Utc>,
) -> Result<Vec<ftry_domain::availability::Slot>, AppError> {
    let request = ftry_domain::availability::SlotRequest {
        items: query
            .services
            .iter()
            .enumerate()
            .map(|(i, service_id)| ftry_domain::availability::RequestedItem {
                service_id: *service_id,
                staff_id: query.staff.get(i).copied().flatten(),
            })
            .collect(),
        first_date: query.first_date,
        last_date: query.last_date,
    };
    ftry_domain::availability::find_slots(&loaded.schedule, &request, now)
        .map_err(crate::booking::visit_error)
}

/// A client's visits: what is coming, what happened, and how reliable they are.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientHistory {
    #[schema(value_type = Vec<Object>)]
    pub upcoming: Vec<AppointmentView>,
    /// Most recent first, at most 100.
    #[schema(value_type = Vec<Object>)]
    pub past: Vec<AppointmentView>,
    pub completed_count: i64,
    pub no_show_count: i64,
    pub cancelled_count: i64,
}

impl App {
    /// The visits at a branch between `from` and `to`, still to come, that
    /// may be missed (`ftry_domain::no_show::risk`), highest risk first, then
    /// by time. Needs the whole calendar and the clients' names.
    pub async fn no_show_risks(
        &self,
        principal: &Principal,
        location_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<NoShowRisk>, AppError> {
        principal.require(Permission::CalendarRead)?;
        principal.require(Permission::ClientsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let rows: Vec<RiskRow> = sqlx::query_as(
            "SELECT a.id, a.starts_at, c.name, a.status, a.source,
                    count(h.id) FILTER (WHERE h.status = 'no_show'),
                    count(h.id) FILTER (WHERE h.status = 'completed')
               FROM appointments a
               JOIN clients c ON c.tenant_id = a.tenant_id AND c.id = a.client_id
               LEFT JOIN appointments h ON h.tenant_id = a.tenant_id AND h.client_id = a.client_id
                                       AND h.starts_at < a.starts_at
              WHERE a.location_id = $1 AND a.starts_at >= $2 AND a.starts_at < $3
                AND a.status IN ('booked', 'confirmed')
              GROUP BY a.id, a.starts_at, c.name, a.status, a.source",
        )
        .bind(location_id)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut risks: Vec<NoShowRisk> = rows
            .into_iter()
            .filter_map(
                |(id, starts_at, client_name, status, source, no_shows, attended)| {
                    let record = ftry_domain::no_show::Record {
                        no_shows: u32::try_from(no_shows).unwrap_or(u32::MAX),
                        attended: u32::try_from(attended).unwrap_or(u32::MAX),
                        online: source == "online",
                        confirmed: status == "confirmed",
                    };
                    ftry_domain::no_show::risk(record).map(|risk| NoShowRisk {
                        appointment_id: id,
                        starts_at,
                        client_name,
                        level: risk.level.name(),
                        reason: risk.reason,
                        high: risk.level == ftry_domain::no_show::Level::High,
                    })
                },
            )
            .collect();
        risks.sort_by(|a, b| b.high.cmp(&a.high).then(a.starts_at.cmp(&b.starts_at)));
        Ok(risks)
    }

    pub async fn client_history(
        &self,
        principal: &Principal,
        client_id: Uuid,
    ) -> Result<ClientHistory, AppError> {
        principal.require(Permission::ClientsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let known: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clients WHERE id = $1)")
            .bind(client_id)
            .fetch_one(&mut *tx)
            .await?;
        if !known {
            return Err(AppError::NotFound);
        }
        let (upcoming, past) = appointments::of_client(&mut tx, client_id, Utc::now(), 100).await?;
        let counts: (i64, i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'no_show'),
                    count(*) FILTER (WHERE status = 'cancelled')
               FROM appointments WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_one(&mut *tx)
        .await?;
        let ids: Vec<Uuid> = upcoming.iter().chain(&past).map(|a| a.id).collect();
        let items = appointments::items(&mut tx, &ids).await?;
        tx.commit().await?;
        let mut items = by_appointment(items);
        Ok(ClientHistory {
            upcoming: with_items(upcoming, &mut items),
            past: with_items(past, &mut items),
            completed_count: counts.0,
            no_show_count: counts.1,
            cancelled_count: counts.2,
        })
    }
}

/// Items grouped by their appointment, each group in the order given.
fn by_appointment(items: Vec<Item>) -> HashMap<Uuid, Vec<Item>> {
    let mut grouped: HashMap<Uuid, Vec<Item>> = HashMap::new();
    for item in items {
        grouped.entry(item.appointment_id).or_default().push(item);
    }
    grouped
}

/// Each appointment with its items, taken out of `items`.
fn with_items(list: Vec<Appointment>, items: &mut HashMap<Uuid, Vec<Item>>) -> Vec<AppointmentView> {
    list.into_iter()
        .map(|appointment| AppointmentView {
            items: items.remove(&appointment.id).unwrap_or_default(),
            appointment,
        })
        .collect()
}

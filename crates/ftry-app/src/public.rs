//! Online booking for clients: no login. A salon's public page lists its
//! branches, what can be booked online and when; a booking returns a signed
//! link with which the client alone can view, cancel (inside the
//! cancellation window) or move it. Nothing here ever shows another client's
//! data.

use chrono::{DateTime, Duration, Utc};
use ftry_domain::appointments::{Source, Status};
use ftry_store::appointments;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::tenants::{self, Tenant};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::appointments::{AvailabilityQuery, Created, RescheduleRequest};
use crate::booking::ItemRequest;
use crate::error::{AppError, Validator};
use crate::{tokens, App};

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicSalon {
    pub name: String,
    pub slug: String,
    pub locations: Vec<PublicLocation>,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PublicLocation {
    pub id: Uuid,
    pub name: String,
    pub address: String,
    pub timezone: String,
    pub cancellation_window_minutes: i32,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PublicService {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub category: Option<String>,
    pub duration_minutes: i32,
    pub price_paise: i64,
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct PublicStaff {
    pub id: Uuid,
    pub name: String,
    pub title: String,
    pub service_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicBookingRequest {
    pub location_id: Uuid,
    pub start: DateTime<Utc>,
    /// Services in order; `staff_id` optional (any). Resources are chosen by the salon.
    pub items: Vec<PublicItem>,
    pub client: PublicClient,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicItem {
    pub service_id: Uuid,
    pub staff_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicClient {
    pub name: String,
    /// E.164, or a 10-digit Indian mobile number. A returning client is recognised by it.
    pub phone: String,
    pub email: Option<String>,
}

/// What a client sees of their own booking.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicBooking {
    pub status: String,
    pub location_name: String,
    pub timezone: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub items: Vec<PublicBookedItem>,
    /// Until when the client may cancel or move it themselves.
    pub changeable_until: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicBookedItem {
    pub service_name: String,
    pub staff_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub price_paise: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicCancelRequest {
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicRescheduleRequest {
    pub start: DateTime<Utc>,
}

impl App {
    async fn public_tenant(&self, slug: &str) -> Result<Tenant, AppError> {
        let mut conn = self.pools.acquire(ftry_store::PoolName::App).await?;
        let tenant = tenants::find_by_slug(&mut conn, slug)
            .await?
            .ok_or(AppError::NotFound)?;
        if tenant.status != "active" {
            return Err(AppError::NotFound);
        }
        Ok(tenant)
    }

    async fn online_location(&self, tx: &mut sqlx::PgConnection, location_id: Uuid) -> Result<(), AppError> {
        let open: Option<bool> = sqlx::query_scalar("SELECT online_booking FROM locations WHERE id = $1")
            .bind(location_id)
            .fetch_optional(tx)
            .await?;
        match open {
            Some(true) => Ok(()),
            _ => Err(AppError::NotFound),
        }
    }

    pub async fn public_salon(&self, slug: &str) -> Result<PublicSalon, AppError> {
        let tenant = self.public_tenant(slug).await?;
        let mut tx = self.pools.begin(tenant.id).await?;
        let locations = sqlx::query_as(
            "SELECT id, name, address, timezone, cancellation_window_minutes FROM locations
              WHERE online_booking ORDER BY created_at, id",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(PublicSalon {
            name: tenant.name,
            slug: tenant.slug,
            locations,
        })
    }

    pub async fn public_services(
        &self,
        slug: &str,
        location_id: Uuid,
    ) -> Result<Vec<PublicService>, AppError> {
        let tenant = self.public_tenant(slug).await?;
        let mut tx = self.pools.begin(tenant.id).await?;
        self.online_location(&mut tx, location_id).await?;
        let services = sqlx::query_as(
            "SELECT s.id, s.name, s.description, c.name AS category, s.duration_minutes, s.price_paise, s.currency
               FROM services s
               JOIN service_locations sl ON sl.tenant_id = s.tenant_id AND sl.service_id = s.id AND sl.location_id = $1
               LEFT JOIN service_categories c ON c.tenant_id = s.tenant_id AND c.id = s.category_id
              WHERE s.active AND s.online_bookable
              ORDER BY c.display_order NULLS LAST, s.display_order, s.name",
        )
        .bind(location_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(services)
    }

    pub async fn public_staff(&self, slug: &str, location_id: Uuid) -> Result<Vec<PublicStaff>, AppError> {
        let tenant = self.public_tenant(slug).await?;
        let mut tx = self.pools.begin(tenant.id).await?;
        self.online_location(&mut tx, location_id).await?;
        let staff = sqlx::query_as(
            "SELECT st.id, st.name, st.title,
                    ARRAY(SELECT ss.service_id FROM staff_services ss JOIN services s
                            ON s.tenant_id = ss.tenant_id AND s.id = ss.service_id
                           WHERE ss.staff_id = st.id AND s.active AND s.online_bookable ORDER BY s.name) AS service_ids
               FROM staff st
              WHERE st.active AND st.bookable_online
                AND EXISTS (SELECT 1 FROM staff_hours h WHERE h.staff_id = st.id AND h.location_id = $1)
              ORDER BY st.display_order, st.name",
        )
        .bind(location_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(staff)
    }

    pub async fn public_availability(
        &self,
        slug: &str,
        location_id: Uuid,
        query: &AvailabilityQuery,
    ) -> Result<Vec<ftry_domain::availability::Slot>, AppError> {
        let tenant = self.public_tenant(slug).await?;
        let mut tx = self.pools.begin(tenant.id).await?;
        self.online_location(&mut tx, location_id).await?;
        tx.commit().await?;
        let search = crate::schedule_cache::Search {
            tenant_id: tenant.id,
            location_id,
            first: query.first_date,
            last: query.last_date,
            online: true,
            services: &query.services,
            version: None,
        };
        self.schedules.slots(&self.pools, &search, query).await
    }

    /// Book online. The answer carries the manage token (the only copy: it
    /// is stored hashed). With an idempotency key, a retry returns the same answer.
    pub async fn public_book(
        &self,
        slug: &str,
        request: &PublicBookingRequest,
        idempotency_key: Option<&str>,
        origin: &Origin,
    ) -> Result<Created, AppError> {
        let tenant = self.public_tenant(slug).await?;
        let mut v = Validator::default();
        let notes = v
            .optional_text("notes", request.notes.as_deref(), 500)
            .unwrap_or_default();
        v.finish()?;
        let mut tx = self.pools.begin(tenant.id).await?;
        let fingerprint = tokens::sha256(&format!("{slug}{request:?}"));
        if let Some(key) = idempotency_key {
            if let Some(answer) =
                crate::idempotency::claim(&mut tx, tenant.id, "public_bookings", key, &fingerprint).await?
            {
                // The stored answer holds no manage token (tokens are kept only
                // hashed): a retry gets a signed one; the first still works.
                let answer = self.with_signed_manage_token(&mut tx, tenant.id, answer).await?;
                tx.commit().await?;
                return Ok(answer);
            }
        }
        self.online_location(&mut tx, request.location_id).await?;
        let client_id = self
            .client_for_booking(
                &mut tx,
                tenant.id,
                &request.client.name,
                &request.client.phone,
                request.client.email.as_deref(),
                origin,
            )
            .await?;
        let items: Vec<ItemRequest> = request
            .items
            .iter()
            .map(|i| ItemRequest {
                service_id: i.service_id,
                staff_id: i.staff_id,
                resource_id: None,
            })
            .collect();
        let date = request.start.date_naive();
        let loaded = crate::booking::load(
            &mut tx,
            &self.pools.metrics,
            request.location_id,
            date.pred_opt().unwrap_or(date),
            date.succ_opt().unwrap_or(date),
            true,
            None,
            crate::booking::VisitNeeds::of(&items).only(),
        )
        .await?;
        let slot = crate::booking::plan(&loaded, &items, request.start, Utc::now())?;
        let id = Uuid::now_v7();
        let manage_token = tokens::tenant_token(tenant.id);
        let manage_hash = tokens::sha256(&manage_token);
        let new_items = crate::booking::items_to_insert(&loaded, &slot);
        appointments::insert(
            &mut tx,
            tenant.id,
            &appointments::NewAppointment {
                id,
                location_id: request.location_id,
                client_id,
                source: Source::Online.name(),
                starts_at: slot.start,
                ends_at: crate::booking::visit_end(&slot),
                notes: &notes,
                created_by: None,
                manage_token_hash: Some(&manage_hash),
            },
        )
        .await?;
        appointments::record_event(
            &mut tx,
            tenant.id,
            id,
            appointments::HistoryEntry {
                kind: "created",
                from_status: None,
                to_status: Some(Status::Booked.name()),
                details: serde_json::json!({ "source": "online" }),
                actor: "client",
            },
        )
        .await?;
        appointments::emit(
            &mut tx,
            tenant.id,
            "appointment.booked",
            id,
            serde_json::json!({ "source": "online", "client_id": client_id }),
        )
        .await?;
        audit::record(
            &mut tx,
            tenant.id,
            origin,
            Event::new(Actor::Anonymous, "appointment.booked_online", "appointment", id)
                .after(serde_json::json!({ "starts_at": slot.start, "items": slot.items.len() })),
        )
        .await?;
        // The items last: see `insert_items` (the staff member's turn is held to the commit).
        crate::booking::insert_items(&mut tx, tenant.id, id, request.location_id, &new_items, false).await?;
        let booking = public_view(&mut tx, id).await?;
        let stored = serde_json::json!({ "booking": booking, "appointment_id": id });
        if let Some(key) = idempotency_key {
            crate::idempotency::record(&mut tx, "public_bookings", key, 201, &stored).await?;
        }
        tx.commit().await?;
        self.business.booked(tenant.id, "online");
        Ok(Created {
            status: 201,
            body: self.manage_answer(stored, &manage_token),
        })
    }

    /// The answer of a booking: its view and manage link, never its internal id.
    fn manage_answer(&self, mut stored: serde_json::Value, manage_token: &str) -> serde_json::Value {
        if let Some(object) = stored.as_object_mut() {
            object.remove("appointment_id");
            object.insert("manage_token".into(), manage_token.into());
            object.insert(
                "manage_url".into(),
                format!(
                    "{}/b/{manage_token}",
                    self.settings.public_url.trim_end_matches('/')
                )
                .into(),
            );
        }
        stored
    }

    async fn with_signed_manage_token(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant_id: Uuid,
        answer: Created,
    ) -> Result<Created, AppError> {
        let Some(id) = answer.body["appointment_id"]
            .as_str()
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            return Ok(answer);
        };
        let starts_at: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT starts_at FROM appointments WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        let token = self.signed_manage_token(tenant_id, id, starts_at);
        Ok(Created {
            status: answer.status,
            body: self.manage_answer(answer.body, &token),
        })
    }

    /// The booking a manage token opens, in that booking's tenant.
    async fn managed(
        &self,
        token: &str,
    ) -> Result<(Uuid, Uuid, sqlx::Transaction<'static, sqlx::Postgres>), AppError> {
        // A link from a message is signed for its visit; one from booking
        // online is a stored secret.
        let signed = self.manage_token(token);
        let tenant_id = match signed {
            Some((tenant_id, _)) => tenant_id,
            None => tokens::parse_tenant_token(token).ok_or(AppError::NotFound)?,
        };
        let mut tx = self.pools.begin(tenant_id).await?;
        // A suspended business's links open nothing, like its public page.
        if tenants::get(&mut tx, tenant_id)
            .await?
            .is_none_or(|t| t.status != "active")
        {
            return Err(AppError::NotFound);
        }
        let id = match signed {
            Some((_, id)) => id,
            None => {
                appointments::find_by_manage_token(&mut tx, &tokens::sha256(token))
                    .await?
                    .ok_or(AppError::NotFound)?
                    .id
            }
        };
        Ok((tenant_id, id, tx))
    }

    pub async fn public_booking(&self, token: &str) -> Result<PublicBooking, AppError> {
        let (_, id, mut tx) = self.managed(token).await?;
        let booking = public_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(booking)
    }

    pub async fn public_cancel(
        &self,
        token: &str,
        request: &PublicCancelRequest,
        origin: &Origin,
    ) -> Result<PublicBooking, AppError> {
        let (tenant_id, id, mut tx) = self.managed(token).await?;
        let booking = public_view(&mut tx, id).await?;
        require_changeable(&booking)?;
        let mut v = Validator::default();
        let reason = v
            .optional_text("reason", request.reason.as_deref(), 500)
            .unwrap_or_else(|| "cancelled online".into());
        v.finish()?;
        crate::appointments::cancel_in(&mut tx, tenant_id, id, &reason, "client").await?;
        audit::record(
            &mut tx,
            tenant_id,
            origin,
            Event::new(
                Actor::Anonymous,
                "appointment.cancelled_online",
                "appointment",
                id,
            ),
        )
        .await?;
        let booking = public_view(&mut tx, id).await?;
        tx.commit().await?;
        self.business.status_changed(tenant_id, "cancelled");
        Ok(booking)
    }

    /// The times on `date` (the branch's local day) a booking made from a
    /// private link can move to: its services with the same staff, as the
    /// move keeps them. The booking's own time counts as taken, so the times
    /// offered lie apart from it.
    pub async fn public_move_times(
        &self,
        token: &str,
        date: chrono::NaiveDate,
    ) -> Result<Vec<ftry_domain::availability::Slot>, AppError> {
        let (tenant_id, id, mut tx) = self.managed(token).await?;
        let appointment = appointments::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
        let items = appointments::items(&mut tx, &[id]).await?;
        tx.commit().await?;
        let live: Vec<_> = items.iter().filter(|i| i.active).collect();
        let query = AvailabilityQuery {
            services: live.iter().map(|i| i.service_id).collect(),
            staff: live.iter().map(|i| Some(i.staff_id)).collect(),
            first_date: date,
            last_date: date,
        };
        let search = crate::schedule_cache::Search {
            tenant_id,
            location_id: appointment.location_id,
            first: date,
            last: date,
            online: true,
            services: &query.services,
            version: None,
        };
        self.schedules.slots(&self.pools, &search, &query).await
    }

    pub async fn public_reschedule(
        &self,
        token: &str,
        request: &PublicRescheduleRequest,
        origin: &Origin,
    ) -> Result<PublicBooking, AppError> {
        let (tenant_id, id, mut tx) = self.managed(token).await?;
        let booking = public_view(&mut tx, id).await?;
        require_changeable(&booking)?;
        let appointment = appointments::get_for_update(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let items = appointments::items(&mut tx, &[id]).await?;
        // The client keeps their services; staff are chosen again, the same one if free.
        let request = RescheduleRequest {
            start: request.start,
            items: Some(
                items
                    .iter()
                    .map(|i| ItemRequest {
                        service_id: i.service_id,
                        staff_id: Some(i.staff_id),
                        resource_id: None,
                    })
                    .collect(),
            ),
        };
        crate::booking::reschedule_in(
            &mut tx,
            &self.pools.metrics,
            tenant_id,
            &appointment,
            &items,
            &request,
            "client",
            true,
        )
        .await?;
        audit::record(
            &mut tx,
            tenant_id,
            origin,
            Event::new(
                Actor::Anonymous,
                "appointment.rescheduled_online",
                "appointment",
                id,
            ),
        )
        .await?;
        let booking = public_view(&mut tx, id).await?;
        tx.commit().await?;
        Ok(booking)
    }
}

fn require_changeable(booking: &PublicBooking) -> Result<(), AppError> {
    if !matches!(booking.status.as_str(), "booked" | "confirmed") {
        return Err(AppError::conflict(
            "not_changeable",
            format!("This booking is {}.", booking.status),
        ));
    }
    if Utc::now() > booking.changeable_until {
        return Err(AppError::conflict(
            "cancellation_window_passed",
            "It is too close to the appointment to change it online; please call the salon.",
        ));
    }
    Ok(())
}

async fn public_view(tx: &mut sqlx::PgConnection, id: Uuid) -> Result<PublicBooking, AppError> {
    let appointment = appointments::get(tx, id).await?.ok_or(AppError::NotFound)?;
    let (location_name, timezone, window): (String, String, i32) =
        sqlx::query_as("SELECT name, timezone, cancellation_window_minutes FROM locations WHERE id = $1")
            .bind(appointment.location_id)
            .fetch_one(&mut *tx)
            .await?;
    let items = appointments::items(tx, &[id]).await?;
    Ok(PublicBooking {
        status: appointment.status,
        location_name,
        timezone,
        starts_at: appointment.starts_at,
        ends_at: appointment.ends_at,
        items: items
            .into_iter()
            .map(|i| PublicBookedItem {
                service_name: i.service_name,
                staff_name: i.staff_name,
                starts_at: i.starts_at,
                ends_at: i.ends_at,
                price_paise: i.price_paise,
            })
            .collect(),
        changeable_until: appointment.starts_at - Duration::minutes(i64::from(window)),
    })
}

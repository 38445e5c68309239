//! The salon of the booking, billing and reports suites: a business signed up
//! through the API, then set up directly in the database as the superuser —
//! its one branch open every day 09:00–21:00 (Asia/Kolkata), stylists
//! working those hours who do every service, the suite's services (in their
//! categories, if any) offered at the branch, chairs if the suite wants them
//! — and one client, made through the API.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use reqwest::Method;
use serde_json::json;
use sqlx::Connection;
use uuid::Uuid;

use super::{admin, body, send, Business, TestApp};

/// Where every fixture branch is.
pub const IST: chrono_tz::Tz = chrono_tz::Asia::Kolkata;

/// A service of the salon, offered at its branch and done by every stylist.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    /// The name of its category, one of `Setup::categories`.
    pub category: Option<&'static str>,
    pub duration_minutes: i32,
    pub buffer_after_minutes: i32,
    /// (offset, minutes): the stretch in which the client waits (a colour
    /// developing) and the stylist is free.
    pub processing: Option<(i32, i32)>,
    pub price_paise: i64,
    pub tax_code: &'static str,
    /// The kind of resource the client occupies throughout.
    pub resource_type: Option<&'static str>,
}

impl Service {
    /// A service of SAC 999721 with no category, buffer, processing time or resource.
    pub const fn new(name: &'static str, duration_minutes: i32, price_paise: i64) -> Self {
        Self {
            name,
            category: None,
            duration_minutes,
            buffer_after_minutes: 0,
            processing: None,
            price_paise,
            tax_code: "999721",
            resource_type: None,
        }
    }
}

/// What a suite wants of its salon.
#[derive(Debug, Clone, Copy)]
pub struct Setup<'a> {
    /// The business's name.
    pub name: &'a str,
    /// How many stylists ("Stylist 0", "Stylist 1"… in that display order).
    pub stylists: usize,
    /// Service categories, displayed in this order.
    pub categories: &'a [&'a str],
    pub services: &'a [Service],
    /// How many chairs, of resource type `chair` ("Chair 1", "Chair 2"…).
    pub chairs: usize,
}

/// The salon as set up, its ids in the order of its `Setup`.
pub struct Salon {
    pub business: Business,
    pub tenant: Uuid,
    pub location: Uuid,
    pub stylists: Vec<Uuid>,
    pub categories: Vec<Uuid>,
    pub services: Vec<Uuid>,
    pub chairs: Vec<Uuid>,
    /// Neha Kulkarni, +919812345678.
    pub client: Uuid,
}

impl Salon {
    pub async fn create(app: &TestApp, setup: Setup<'_>) -> Self {
        let business = app.signup(setup.name).await;
        let tenant: Uuid = business.tenant_id.parse().unwrap();
        let location: Uuid = business.location_id.parse().unwrap();
        let mut db = admin(app).await;
        let stylists: Vec<Uuid> = (0..setup.stylists).map(|_| Uuid::now_v7()).collect();
        let services: Vec<Uuid> = setup.services.iter().map(|_| Uuid::now_v7()).collect();
        let categories: Vec<Uuid> = setup.categories.iter().map(|_| Uuid::now_v7()).collect();
        let chairs: Vec<Uuid> = (0..setup.chairs).map(|_| Uuid::now_v7()).collect();
        sqlx::query(
            "INSERT INTO location_hours (tenant_id, location_id, weekday, opens, closes)
             SELECT $1, $2, d, 540, 1260 FROM generate_series(1, 7) d",
        )
        .bind(tenant)
        .bind(location)
        .execute(&mut db)
        .await
        .unwrap();
        for (i, id) in stylists.iter().enumerate() {
            sqlx::query("INSERT INTO staff (tenant_id, id, name, display_order) VALUES ($1, $2, $3, $4)")
                .bind(tenant)
                .bind(id)
                .bind(format!("Stylist {i}"))
                .bind(i as i32)
                .execute(&mut db)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO staff_hours (tenant_id, staff_id, location_id, weekday, kind, starts, ends)
                 SELECT $1, $2, $3, d, 'work', 540, 1260 FROM generate_series(1, 7) d",
            )
            .bind(tenant)
            .bind(id)
            .bind(location)
            .execute(&mut db)
            .await
            .unwrap();
        }
        for (i, (id, name)) in categories.iter().zip(setup.categories).enumerate() {
            sqlx::query(
                "INSERT INTO service_categories (tenant_id, id, name, display_order) VALUES ($1, $2, $3, $4)",
            )
            .bind(tenant)
            .bind(id)
            .bind(name)
            .bind(i as i32)
            .execute(&mut db)
            .await
            .unwrap();
        }
        for (id, service) in services.iter().zip(setup.services) {
            let category = service.category.map(|name| {
                let at = setup.categories.iter().position(|c| *c == name);
                categories[at.unwrap_or_else(|| panic!("{name} is not among the setup's categories"))]
            });
            sqlx::query(
                "INSERT INTO services (tenant_id, id, category_id, name, duration_minutes, buffer_after_minutes,
                                       processing_offset_minutes, processing_minutes, price_paise, tax_code,
                                       resource_type)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(tenant)
            .bind(id)
            .bind(category)
            .bind(service.name)
            .bind(service.duration_minutes)
            .bind(service.buffer_after_minutes)
            .bind(service.processing.map(|(offset, _)| offset))
            .bind(service.processing.map(|(_, minutes)| minutes))
            .bind(service.price_paise)
            .bind(service.tax_code)
            .bind(service.resource_type)
            .execute(&mut db)
            .await
            .unwrap();
        }
        sqlx::query(
            "INSERT INTO service_locations (tenant_id, service_id, location_id)
             SELECT $1, s, $3 FROM unnest($2::uuid[]) s",
        )
        .bind(tenant)
        .bind(&services[..])
        .bind(location)
        .execute(&mut db)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO staff_services (tenant_id, staff_id, service_id)
             SELECT $1, s, v FROM unnest($2::uuid[]) s, unnest($3::uuid[]) v",
        )
        .bind(tenant)
        .bind(&stylists[..])
        .bind(&services[..])
        .execute(&mut db)
        .await
        .unwrap();
        for (i, id) in chairs.iter().enumerate() {
            sqlx::query(
                "INSERT INTO resources (tenant_id, id, location_id, name, resource_type, display_order)
                 VALUES ($1, $2, $3, $4, 'chair', $5)",
            )
            .bind(tenant)
            .bind(id)
            .bind(location)
            .bind(format!("Chair {}", i + 1))
            .bind(i as i32)
            .execute(&mut db)
            .await
            .unwrap();
        }
        db.close().await.unwrap();
        let mut salon = Self {
            business,
            tenant,
            location,
            stylists,
            categories,
            services,
            chairs,
            client: Uuid::nil(),
        };
        salon.client = add_client(app, &salon, "Neha Kulkarni", "+919812345678").await;
        salon
    }

    /// The owner's access token.
    pub fn token(&self) -> &str {
        &self.business.access_token
    }
}

/// A client created through the API.
pub async fn add_client(app: &TestApp, salon: &Salon, name: &str, phone: &str) -> Uuid {
    let created = send(
        app,
        salon.token(),
        Method::POST,
        "/api/v1/clients",
        Some(&json!({"name": name, "phone": phone})),
    )
    .await;
    body(created, 201).await["id"].as_str().unwrap().parse().unwrap()
}

pub fn today_in_pune() -> NaiveDate {
    Utc::now().with_timezone(&IST).date_naive()
}

/// The local date in Pune `days` from today.
pub fn day(days: i64) -> NaiveDate {
    today_in_pune() + Duration::days(days)
}

/// `hh:mm` in Pune on `date`, as an instant.
pub fn pune(date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    IST.from_local_datetime(&date.and_hms_opt(hour, minute, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

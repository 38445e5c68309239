//! The scale dataset: a salon of 20 staff and 60 services with 5,000 booked
//! items over 14 days at the measured location, among a million items of
//! other businesses. Generated inside PostgreSQL (`INSERT … SELECT`), as the
//! superuser, in seconds rather than through a million API calls.

use anyhow::Context;
use ftry_app::data_protection::DataProtectionSettings;
use sqlx::{Connection, Executor, PgConnection};
use uuid::Uuid;

pub struct BenchDb {
    pub name: String,
    admin_url: String,
}

const PASSWORD: &str = "ftry_test";

impl BenchDb {
    pub async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let mut admin = PgConnection::connect(admin_url)
            .await
            .context("connect to the benchmark PostgreSQL")?;
        for role in ["ftry_owner", "ftry_app"] {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)")
                    .bind(role)
                    .fetch_one(&mut admin)
                    .await?;
            if !exists {
                admin
                    .execute(format!("CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'").as_str())
                    .await?;
            }
        }
        let name = format!("ftry_bench_{}", Uuid::now_v7().simple());
        admin
            .execute(format!("CREATE DATABASE {name} OWNER ftry_owner").as_str())
            .await?;
        Ok(Self {
            name,
            admin_url: admin_url.to_owned(),
        })
    }

    /// A role's URL into the benchmark database.
    pub fn url(&self, role: &str) -> String {
        let mut url = url_of(&self.admin_url);
        let _ = url.set_username(role);
        let _ = url.set_password(Some(PASSWORD));
        url.set_path(&self.name);
        url.to_string()
    }

    /// The administrator's URL into the benchmark database.
    pub fn superuser_url(&self) -> String {
        let mut url = url_of(&self.admin_url);
        url.set_path(&self.name);
        url.to_string()
    }

    pub async fn superuser(&self) -> anyhow::Result<PgConnection> {
        Ok(PgConnection::connect(&self.superuser_url()).await?)
    }

    pub async fn drop(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        admin
            .execute(format!("DROP DATABASE {} WITH (FORCE)", self.name).as_str())
            .await?;
        Ok(())
    }
}

fn url_of(text: &str) -> reqwest::Url {
    reqwest::Url::parse(text)
        .unwrap_or_else(|_| reqwest::Url::parse("postgres://127.0.0.1/postgres").expect("literal"))
}

/// Fixed, published keys: benchmark data is synthetic.
pub fn bench_data_protection() -> DataProtectionSettings {
    toml::from_str(
        r#"keys = [{ id = "bench-1", secret = "MzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzM=" }]
           index_key = "REREREREREREREREREREREREREREREREREREREREREQ=""#,
    )
    .expect("literal keys")
}

/// What the measurements need to know about the generated salon.
#[derive(Clone)]
pub struct Salon {
    pub token: String,
    pub slug: String,
    pub owner_email: String,
    pub owner_password: String,
    pub location: Uuid,
    pub client: Uuid,
    pub services: Vec<Uuid>,
    pub staff: Vec<Uuid>,
    pub first_date: chrono::NaiveDate,
    pub location_items: i64,
    pub total_items: i64,
    pub businesses: i64,
    pub clients: i64,
    pub appointments: Vec<Uuid>,
    pub product: Uuid,
    pub invoices: i64,
    pub all_invoices: i64,
    /// Invoices paid in more than one part.
    pub split_payments: i64,
}

/// The other businesses of a scale (see filler.sql): how many, over how many
/// days of bookings, with how many clients each.
#[derive(Debug, Clone, Copy)]
pub struct Filler {
    pub businesses: u64,
    pub days: u64,
    pub clients: u64,
    /// Of every thousand completed visits, how many were checked out.
    pub invoice_permille: u64,
}

/// Connections generating the other businesses at once, each a range of them.
const FILLER_LOADERS: u64 = 2;

/// Generate the dataset, telling on stderr how far it got.
pub async fn load(db: &BenchDb, base: &str, filler: Filler, invoices: u64) -> anyhow::Result<Salon> {
    let started = std::time::Instant::now();
    let step = |n: usize, what: &str| eprintln!("[{n}/5 {:>6.1} s] {what}", started.elapsed().as_secs_f64());
    step(1, "signing up the measured salon");
    let client = reqwest::Client::new();
    let signup: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&serde_json::json!({
            "business_name": "Benchmark Salon",
            "location": {"name": "Koregaon Park", "state_code": "27"},
            "owner": {"name": "Bench Owner", "email": "owner@bench.example", "password": "bench-owner-secret-77"},
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = signup["access_token"].as_str().context("token")?.to_owned();
    let slug = signup["tenant"]["slug"].as_str().context("slug")?.to_owned();
    let tenant: Uuid = signup["tenant"]["id"].as_str().context("tenant")?.parse()?;
    let location: Uuid = signup["location"]["id"].as_str().context("location")?.parse()?;
    let customer: serde_json::Value = client
        .post(format!("{base}/api/v1/clients"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "Bench Client", "phone": "+919800000001"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let client_id: Uuid = customer["id"].as_str().context("client")?.parse()?;

    let mut sql = db.superuser().await?;
    let first_date = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    sql.execute("SET synchronous_commit = off").await?;
    step(
        2,
        "its staff, services, hours, 5,000 booked items and 20,000 clients",
    );
    let setup = include_str!("salon.sql");
    sqlx::raw_sql(
        &setup
            .replace(":tenant", &format!("'{tenant}'"))
            .replace(":location", &format!("'{location}'"))
            .replace(":client", &format!("'{client_id}'"))
            .replace(":first_date", &format!("'{first_date}'")),
    )
    .execute(&mut sql)
    .await
    .context("generating the measured salon")?;
    step(3, &format!("a year of its billing: {invoices} invoices"));
    let billing = include_str!("billing.sql");
    sqlx::raw_sql(
        &billing
            .replace(":tenant", &format!("'{tenant}'"))
            .replace(":location", &format!("'{location}'"))
            .replace(":first_date", &format!("'{first_date}'"))
            .replace(":invoices", &invoices.to_string()),
    )
    .execute(&mut sql)
    .await
    .context("generating a year of invoices")?;
    if filler.businesses > 0 {
        step(
            4,
            &format!(
                "{} other businesses, {} days of bookings each",
                filler.businesses, filler.days
            ),
        );
        let mut loaders = tokio::task::JoinSet::new();
        let per_loader = filler.businesses.div_ceil(FILLER_LOADERS);
        for first in (1..=filler.businesses).step_by(per_loader as usize) {
            let last = (first + per_loader - 1).min(filler.businesses);
            let script = String::from("SET synchronous_commit = off;\n")
                + &include_str!("filler.sql")
                    .replace(":first", &first.to_string())
                    .replace(":last", &last.to_string())
                    .replace(":days", &filler.days.to_string())
                    .replace(":clients", &filler.clients.to_string())
                    .replace(":invoice_permille", &filler.invoice_permille.to_string());
            // One connection each (a pool of one: a pool runs in a spawned task).
            let connection = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&db.superuser_url())
                .await?;
            loaders.spawn(async move {
                sqlx::raw_sql(&script).execute(&connection).await?;
                connection.close().await;
                anyhow::Ok(())
            });
        }
        while let Some(loaded) = loaders.join_next().await {
            loaded?.context("generating the other businesses")?;
        }
    }
    // As autovacuum would have: statistics, and the visibility map for index-only scans.
    step(5, "VACUUM ANALYZE");
    sql.execute("VACUUM ANALYZE").await?;
    let services: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM services WHERE tenant_id = $1 ORDER BY name")
            .bind(tenant)
            .fetch_all(&mut sql)
            .await?;
    let staff: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM staff WHERE tenant_id = $1 ORDER BY display_order")
            .bind(tenant)
            .fetch_all(&mut sql)
            .await?;
    let location_items: i64 =
        sqlx::query_scalar("SELECT count(*) FROM appointment_items WHERE location_id = $1")
            .bind(location)
            .fetch_one(&mut sql)
            .await?;
    let total_items: i64 = sqlx::query_scalar("SELECT count(*) FROM appointment_items")
        .fetch_one(&mut sql)
        .await?;
    // Future visits of the measured location, to check out.
    let appointments: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM appointments WHERE location_id = $1 AND starts_at > now() ORDER BY starts_at LIMIT 5000",
    )
    .bind(location)
    .fetch_all(&mut sql)
    .await?;
    let product: Uuid = sqlx::query_scalar("SELECT id FROM products WHERE sku = 'BENCH-SHAMPOO'")
        .fetch_one(&mut sql)
        .await?;
    let invoices_stored: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices WHERE location_id = $1")
        .bind(location)
        .fetch_one(&mut sql)
        .await?;
    let all_invoices: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(&mut sql)
        .await?;
    let split_payments: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM payments GROUP BY tenant_id, invoice_id HAVING count(*) > 1) split",
    )
    .fetch_one(&mut sql)
    .await?;
    let businesses: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants")
        .fetch_one(&mut sql)
        .await?;
    let clients: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&mut sql)
        .await?;
    eprintln!("[done {:>6.1} s]", started.elapsed().as_secs_f64());
    Ok(Salon {
        token,
        slug,
        businesses,
        clients,
        owner_email: "owner@bench.example".into(),
        owner_password: "bench-owner-secret-77".into(),
        location,
        client: client_id,
        services,
        staff,
        first_date,
        location_items,
        total_items,
        appointments,
        product,
        invoices: invoices_stored,
        all_invoices,
        split_payments,
    })
}

//! Demo data, loaded idempotently: running it twice changes nothing.

use sqlx::PgPool;
use uuid::Uuid;

use crate::tenant;

/// The demo salon's fixed identity, so reseeding finds it again.
pub const DEMO_TENANT_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
pub const DEMO_TENANT_SLUG: &str = "lotus-demo";

/// What the demo seed created or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub tenant_slug: &'static str,
    pub tenant_created: bool,
    pub locations: i64,
}

pub async fn demo(pool: &PgPool) -> Result<DemoSummary, sqlx::Error> {
    let mut tx = tenant::begin(pool, DEMO_TENANT_ID).await?;
    let created = sqlx::query(
        "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'Lotus Salon & Spa')
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(DEMO_TENANT_ID)
    .bind(DEMO_TENANT_SLUG)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let branches = [
        (
            1u128,
            "Koregaon Park",
            "Lane 6, Koregaon Park, Pune 411001",
            "27",
            Some("27AAPFL1234C1ZK"),
        ),
        (
            2u128,
            "Indiranagar",
            "100 Feet Road, Indiranagar, Bengaluru 560038",
            "29",
            None,
        ),
    ];
    for (n, name, address, state, gstin) in branches {
        sqlx::query(
            "INSERT INTO locations (tenant_id, id, name, address, state_code, gstin)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, id) DO NOTHING",
        )
        .bind(DEMO_TENANT_ID)
        .bind(Uuid::from_u128(0x0190_0000_0000_7000_8000_0001_0000_0000 + n))
        .bind(name)
        .bind(address)
        .bind(state)
        .bind(gstin)
        .execute(&mut *tx)
        .await?;
    }
    let locations: i64 = sqlx::query_scalar("SELECT count(*) FROM locations")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(DemoSummary {
        tenant_slug: DEMO_TENANT_SLUG,
        tenant_created: created,
        locations,
    })
}

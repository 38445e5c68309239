//! The demo salon: a business with two branches and one account in every
//! built-in role, loaded idempotently (running it again changes nothing).

use ftry_domain::permissions::BuiltinRole;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::tenants::{self, NewLocation};
use ftry_store::{roles, users};
use uuid::Uuid;

use crate::error::AppError;
use crate::App;

/// The demo salon's fixed identity, so reseeding finds it again.
pub const DEMO_TENANT_ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);
pub const DEMO_TENANT_SLUG: &str = "lotus-demo";

/// Demo logins: (role, name, email, password). Published on purpose.
pub const DEMO_ACCOUNTS: [(BuiltinRole, &str, &str, &str); 5] = [
    (
        BuiltinRole::Owner,
        "Meera Kulkarni",
        "owner@lotus-demo.example",
        "demo-owner-pass-2026",
    ),
    (
        BuiltinRole::Admin,
        "Arjun Rao",
        "admin@lotus-demo.example",
        "demo-admin-pass-2026",
    ),
    (
        BuiltinRole::Manager,
        "Sana Shaikh",
        "manager@lotus-demo.example",
        "demo-manager-pass-2026",
    ),
    (
        BuiltinRole::Receptionist,
        "Priya Deshmukh",
        "frontdesk@lotus-demo.example",
        "demo-frontdesk-pass-2026",
    ),
    (
        BuiltinRole::Stylist,
        "Kavya Iyer",
        "stylist@lotus-demo.example",
        "demo-stylist-pass-2026",
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub tenant_created: bool,
    pub locations: usize,
    pub users: usize,
}

impl App {
    pub async fn seed_demo(&self) -> Result<DemoSummary, AppError> {
        let mut tx = ftry_store::tenant::begin(&self.pools.app, DEMO_TENANT_ID).await?;
        let tenant_created =
            tenants::insert(&mut tx, DEMO_TENANT_ID, DEMO_TENANT_SLUG, "Lotus Salon & Spa").await?;
        if tenant_created {
            roles::create_builtins(&mut tx, DEMO_TENANT_ID).await?;
            let branches = [
                (
                    "Koregaon Park",
                    "Lane 6, Koregaon Park, Pune 411001",
                    "27",
                    Some("27AAPFL1234C1ZK"),
                ),
                (
                    "Indiranagar",
                    "100 Feet Road, Indiranagar, Bengaluru 560038",
                    "29",
                    None,
                ),
            ];
            for (name, address, state_code, gstin) in branches {
                let location = NewLocation {
                    id: Uuid::now_v7(),
                    name,
                    address,
                    state_code,
                    gstin,
                    timezone: "Asia/Kolkata",
                };
                tenants::insert_location(&mut tx, DEMO_TENANT_ID, &location).await?;
            }
        }
        for (role, name, email, password) in DEMO_ACCOUNTS {
            if users::find_by_email(&mut tx, email).await?.is_some() {
                continue;
            }
            let id = Uuid::now_v7();
            let hash = self.passwords.hash(password).await?;
            let user = users::NewUser {
                id,
                email,
                name,
                phone: None,
                password_hash: Some(&hash),
                status: "active",
            };
            users::insert(&mut tx, DEMO_TENANT_ID, &user).await?;
            let role_id = roles::builtin_id(&mut tx, role)
                .await?
                .ok_or_else(|| AppError::Internal(format!("demo tenant lacks the {} role", role.name())))?;
            roles::set_user_roles(&mut tx, DEMO_TENANT_ID, id, &[role_id]).await?;
        }
        if tenant_created {
            audit::record(
                &mut tx,
                DEMO_TENANT_ID,
                &Origin::default(),
                Event::new(Actor::System, "tenant.demo_seeded", "tenant", DEMO_TENANT_ID),
            )
            .await?;
        }
        let locations = tenants::list_locations(&mut tx).await?.len();
        let users = users::list(&mut tx).await?.len();
        tx.commit().await?;
        Ok(DemoSummary {
            tenant_created,
            locations,
            users,
        })
    }
}

//! The demo salon: a business with two branches and one account in every
//! built-in role, its menu, team, rooms and hours, loaded idempotently
//! (running it again changes nothing).

use ftry_domain::permissions::BuiltinRole;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::catalog::{self, Category, ResourceFields, ServiceFields, WeeklyInterval};
use ftry_store::staff::{self, ServiceOverride, StaffFields};
use ftry_store::tenants::{self, NewLocation};
use ftry_store::{roles, users};
use sqlx::PgConnection;
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
    /// Appointments booked by this run (none when the salon existed).
    pub appointments: usize,
    /// Past visits invoiced and paid by this run.
    pub invoices: usize,
}

impl App {
    pub async fn seed_demo(&self) -> Result<DemoSummary, AppError> {
        let mut tx = self.pools.begin(DEMO_TENANT_ID).await?;
        let tenant_created =
            tenants::insert(&mut tx, DEMO_TENANT_ID, DEMO_TENANT_SLUG, "Lotus Salon & Spa").await?;
        let mut branch_ids = Vec::new();
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
                branch_ids.push(
                    tenants::insert_location(&mut tx, DEMO_TENANT_ID, &location)
                        .await?
                        .id,
                );
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
        let mut appointments = 0;
        if tenant_created {
            seed_salon(&mut tx, &branch_ids).await?;
            crate::products::seed_demo(&mut tx, DEMO_TENANT_ID, &branch_ids).await?;
            appointments = self.seed_week(&mut tx, &branch_ids).await?;
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
        let invoices = if tenant_created {
            self.seed_month(&branch_ids).await?
        } else {
            0
        };
        Ok(DemoSummary {
            appointments,
            invoices,
            tenant_created,
            locations,
            users,
        })
    }
}

// ---------------------------------------------------------------- the salon

/// Service categories: (name, SAC code of their services).
const CATEGORIES: [(&str, &str); 6] = [
    ("Haircuts & Styling", "999721"),
    ("Hair Colour", "999721"),
    ("Hair Spa & Treatments", "999721"),
    ("Nails", "999722"),
    ("Facials & Skin", "999722"),
    ("Massage & Spa", "999723"),
];

/// One service of the demo menu.
struct DemoService {
    category: usize,
    name: &'static str,
    minutes: i32,
    rupees: i64,
    /// (offset, length) of the processing gap: colour and treatments developing.
    processing: Option<(i32, i32)>,
    resource_type: Option<&'static str>,
    /// Room turnaround after spa services.
    buffer_after: i32,
}

const fn service(
    category: usize,
    name: &'static str,
    minutes: i32,
    rupees: i64,
    processing: Option<(i32, i32)>,
) -> DemoService {
    let resource_type = match category {
        0..=2 => Some("styling_chair"),
        3 => Some("nail_station"),
        5 => Some("spa_room"),
        _ => None,
    };
    DemoService {
        category,
        name,
        minutes,
        rupees,
        processing,
        resource_type,
        buffer_after: if category == 5 { 15 } else { 0 },
    }
}

const fn in_room(mut s: DemoService) -> DemoService {
    s.resource_type = Some("spa_room");
    s
}

/// A Pune / Bengaluru mid-premium salon menu, prices tax exclusive.
const SERVICES: [DemoService; 40] = [
    service(0, "Women's Haircut", 45, 900, None),
    service(0, "Men's Haircut", 30, 500, None),
    service(0, "Kids' Haircut (under 12)", 30, 400, None),
    service(0, "Beard Trim & Shape", 20, 300, None),
    service(0, "Blow-dry", 30, 700, None),
    service(0, "Ironing / Straight Styling", 45, 1200, None),
    service(0, "Curls & Waves Styling", 60, 1500, None),
    service(0, "Occasion Updo", 60, 2500, None),
    service(1, "Root Touch-up", 75, 1800, Some((20, 35))),
    service(1, "Global Colour (short hair)", 120, 3500, Some((30, 40))),
    service(1, "Global Colour (long hair)", 150, 5500, Some((35, 45))),
    service(1, "Partial Highlights", 120, 4000, Some((45, 30))),
    service(1, "Balayage", 180, 7500, Some((60, 45))),
    service(1, "Men's Hair Colour", 60, 1200, Some((15, 25))),
    service(1, "Henna Application", 90, 900, Some((20, 50))),
    service(1, "Beard Colour", 30, 500, Some((10, 10))),
    service(2, "Classic Hair Spa", 60, 1500, None),
    service(2, "Anti-dandruff Treatment", 60, 1800, None),
    service(2, "Bond Repair Treatment", 75, 3000, Some((20, 20))),
    service(2, "Keratin Treatment", 180, 6500, Some((45, 30))),
    service(2, "Hair Smoothening", 180, 5500, Some((60, 30))),
    service(2, "Head Massage (Champi)", 30, 600, None),
    service(3, "Classic Manicure", 45, 700, None),
    service(3, "Classic Pedicure", 60, 900, None),
    service(3, "Spa Pedicure", 75, 1500, None),
    service(3, "Gel Polish", 45, 1200, None),
    service(3, "Gel Extensions", 120, 2800, None),
    service(3, "Nail Art (per set)", 30, 800, None),
    service(3, "Gel Removal", 20, 400, None),
    in_room(service(4, "Express Clean-up", 45, 1200, None)),
    in_room(service(4, "Hydrating Facial", 60, 2500, None)),
    in_room(service(4, "Vitamin C Brightening Facial", 75, 3200, None)),
    in_room(service(4, "Anti-ageing Facial", 90, 4500, None)),
    service(4, "Eyebrow Threading", 10, 80, None),
    service(4, "Full-face Threading", 20, 300, None),
    service(4, "Full Arms Waxing", 30, 800, None),
    service(5, "Swedish Massage (60 min)", 60, 3200, None),
    service(5, "Deep Tissue Massage (60 min)", 60, 3800, None),
    service(5, "Balinese Massage (90 min)", 90, 4800, None),
    service(5, "Abhyanga Ayurvedic Massage", 75, 4200, None),
];

/// A week at one branch: (branch index, weekdays, work, lunch break), times in minutes.
type DemoWeek = (usize, &'static [i16], (i16, i16), (i16, i16));

struct DemoStaff {
    name: &'static str,
    title: &'static str,
    colour: &'static str,
    categories: &'static [usize],
    /// (service, own price in rupees, own duration in minutes)
    overrides: &'static [(&'static str, Option<i64>, Option<i32>)],
    weeks: &'static [DemoWeek],
}

const fn hm(hours: i16, minutes: i16) -> i16 {
    hours * 60 + minutes
}

const KORE: usize = 0;
const INDI: usize = 1;
const DAY_10_19: (i16, i16) = (hm(10, 0), hm(19, 0));
const DAY_11_20: (i16, i16) = (hm(11, 0), hm(20, 0));

/// Eight people over both branches; the nail technician splits her week.
const STAFF: [DemoStaff; 8] = [
    DemoStaff {
        name: "Kavya Iyer",
        title: "Senior Stylist",
        colour: "#7c4dff",
        categories: &[0, 1, 2],
        overrides: &[
            ("Women's Haircut", Some(1200), None),
            ("Blow-dry", Some(900), None),
        ],
        weeks: &[(KORE, &[2, 4, 5, 6, 7], DAY_10_19, (hm(14, 0), hm(14, 45)))],
    },
    DemoStaff {
        name: "Rohan Joshi",
        title: "Stylist",
        colour: "#00897b",
        categories: &[0, 2],
        overrides: &[],
        weeks: &[(KORE, &[2, 3, 5, 6, 7], DAY_11_20, (hm(15, 0), hm(15, 45)))],
    },
    DemoStaff {
        name: "Sneha Patwardhan",
        title: "Colour Specialist",
        colour: "#e53935",
        categories: &[1, 2],
        overrides: &[],
        weeks: &[(KORE, &[3, 4, 5, 6, 7], DAY_10_19, (hm(13, 30), hm(14, 15)))],
    },
    DemoStaff {
        name: "Anjali Nair",
        title: "Spa Therapist",
        colour: "#43a047",
        categories: &[4, 5],
        overrides: &[],
        weeks: &[(KORE, &[2, 3, 4, 6, 7], DAY_11_20, (hm(15, 30), hm(16, 15)))],
    },
    DemoStaff {
        name: "Farah Sheikh",
        title: "Nail Technician",
        colour: "#d81b60",
        categories: &[3],
        overrides: &[],
        weeks: &[
            (KORE, &[2, 3, 4], DAY_10_19, (hm(14, 0), hm(14, 45))),
            (INDI, &[5, 6, 7], DAY_10_19, (hm(14, 0), hm(14, 45))),
        ],
    },
    DemoStaff {
        name: "Vikram Reddy",
        title: "Senior Stylist",
        colour: "#3949ab",
        categories: &[0, 1, 2],
        overrides: &[
            ("Women's Haircut", Some(1200), None),
            ("Men's Haircut", Some(700), None),
        ],
        weeks: &[(INDI, &[2, 4, 5, 6, 7], DAY_10_19, (hm(14, 0), hm(14, 45)))],
    },
    DemoStaff {
        name: "Lakshmi Narayanan",
        title: "Colourist",
        colour: "#fb8c00",
        categories: &[1, 2],
        overrides: &[("Balayage", None, Some(165))],
        weeks: &[(INDI, &[2, 3, 5, 6, 7], DAY_11_20, (hm(15, 0), hm(15, 45)))],
    },
    DemoStaff {
        name: "Deepa Hegde",
        title: "Spa Therapist",
        colour: "#8e24aa",
        categories: &[4, 5],
        overrides: &[],
        weeks: &[(INDI, &[3, 4, 5, 6, 7], DAY_10_19, (hm(13, 30), hm(14, 15)))],
    },
];

/// Resources of each branch: (name, type, capacity).
const RESOURCES: [(&str, &str, i32); 7] = [
    ("Styling Chair 1", "styling_chair", 1),
    ("Styling Chair 2", "styling_chair", 1),
    ("Styling Chair 3", "styling_chair", 1),
    ("Styling Chair 4", "styling_chair", 1),
    ("Lotus Spa Room", "spa_room", 1),
    ("Jasmine Spa Room", "spa_room", 1),
    ("Nail Station", "nail_station", 2),
];

/// The demo salon's menu, team, rooms and hours; only when the tenant is created.
async fn seed_salon(conn: &mut PgConnection, branches: &[Uuid]) -> Result<(), AppError> {
    let tenant = DEMO_TENANT_ID;
    // Tuesday to Sunday, 10:00–20:00; closed on Mondays.
    let opening: Vec<WeeklyInterval> = (2..=7)
        .map(|weekday| WeeklyInterval {
            weekday,
            starts: hm(10, 0),
            ends: hm(20, 0),
        })
        .collect();
    for branch in branches {
        catalog::set_location_hours(conn, tenant, *branch, &opening).await?;
        for (order, (name, resource_type, capacity)) in (0..).zip(RESOURCES) {
            let fields = ResourceFields {
                location_id: *branch,
                name: name.to_owned(),
                resource_type: resource_type.to_owned(),
                capacity,
                active: true,
                display_order: order,
            };
            catalog::insert_resource(conn, tenant, Uuid::now_v7(), &fields).await?;
        }
    }
    let mut category_ids = Vec::new();
    for (order, (name, _)) in (0..).zip(CATEGORIES) {
        let category = Category {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            display_order: order,
        };
        catalog::insert_category(conn, tenant, &category).await?;
        category_ids.push(category.id);
    }
    let mut service_ids = Vec::new();
    for (order, s) in (0..).zip(&SERVICES) {
        let fields = ServiceFields {
            category_id: Some(category_ids[s.category]),
            name: s.name.to_owned(),
            description: String::new(),
            duration_minutes: s.minutes,
            buffer_before_minutes: 0,
            buffer_after_minutes: s.buffer_after,
            processing_offset_minutes: s.processing.map(|(offset, _)| offset),
            processing_minutes: s.processing.map(|(_, minutes)| minutes),
            price_paise: s.rupees * 100,
            tax_code: CATEGORIES[s.category].1.to_owned(),
            resource_type: s.resource_type.map(str::to_owned),
            online_bookable: true,
            active: true,
            display_order: order,
        };
        let id = Uuid::now_v7();
        catalog::insert_service(conn, tenant, id, &fields).await?;
        catalog::set_service_locations(conn, tenant, id, branches).await?;
        service_ids.push(id);
    }
    let stylist_email = DEMO_ACCOUNTS[4].2;
    let stylist_account = users::find_by_email(conn, stylist_email).await?.map(|u| u.id);
    for (order, person) in (0..).zip(&STAFF) {
        let id = Uuid::now_v7();
        let fields = StaffFields {
            user_id: stylist_account.filter(|_| person.name == DEMO_ACCOUNTS[4].1),
            name: person.name.to_owned(),
            title: person.title.to_owned(),
            colour: person.colour.to_owned(),
            display_order: order,
            active: true,
            bookable_online: true,
        };
        staff::insert(conn, tenant, id, &fields).await?;
        let performed: Vec<ServiceOverride> = SERVICES
            .iter()
            .zip(&service_ids)
            .filter(|(s, _)| person.categories.contains(&s.category))
            .map(|(s, service_id)| {
                let own = person.overrides.iter().find(|(name, _, _)| *name == s.name);
                ServiceOverride {
                    service_id: *service_id,
                    price_paise: own.and_then(|(_, rupees, _)| rupees.map(|r| r * 100)),
                    duration_minutes: own.and_then(|(_, _, minutes)| *minutes),
                }
            })
            .collect();
        staff::set_services(conn, tenant, id, &performed).await?;
        for (branch, weekdays, (starts, ends), (break_starts, break_ends)) in person.weeks {
            let day = |weekday: &i16, starts: i16, ends: i16| WeeklyInterval {
                weekday: *weekday,
                starts,
                ends,
            };
            let work: Vec<_> = weekdays.iter().map(|d| day(d, *starts, *ends)).collect();
            let breaks: Vec<_> = weekdays
                .iter()
                .map(|d| day(d, *break_starts, *break_ends))
                .collect();
            let branch = branches
                .get(*branch)
                .ok_or_else(|| AppError::Internal("the demo salon lacks a branch".into()))?;
            staff::set_hours(conn, tenant, id, *branch, &work, &breaks).await?;
        }
    }
    Ok(())
}

/// Clients of the demo salon: (name, phone).
const DEMO_CLIENTS: [(&str, &str); 16] = [
    ("Ananya Deshpande", "+919822011001"),
    ("Rohan Mehta", "+919822011002"),
    ("Ishita Banerjee", "+919822011003"),
    ("Vikram Nair", "+919822011004"),
    ("Pooja Hegde", "+919822011005"),
    ("Aditya Joshi", "+919822011006"),
    ("Sneha Reddy", "+919822011007"),
    ("Farhan Qureshi", "+919822011008"),
    ("Meghna Pillai", "+919822011009"),
    ("Karan Malhotra", "+919822011010"),
    ("Divya Menon", "+919822011011"),
    ("Siddharth Rao", "+919822011012"),
    ("Tanvi Kulkarni", "+919822011013"),
    ("Nikhil Bhat", "+919822011014"),
    ("Zoya Sheikh", "+919822011015"),
    ("Harsh Agarwal", "+919822011016"),
];

impl App {
    /// A week of appointments from today at both branches, placed by the
    /// availability engine (so they respect hours, breaks and resources) and
    /// written like any booking. Deterministic apart from today's date.
    async fn seed_week(&self, tx: &mut PgConnection, branches: &[Uuid]) -> Result<usize, AppError> {
        use ftry_domain::availability::{
            find_slots, staff_occupancy, RequestedItem, ResourceUsage, SlotRequest,
        };
        use ftry_domain::schedule::Interval;

        let mut clients = Vec::new();
        for (name, phone) in DEMO_CLIENTS {
            clients.push(
                self.client_for_booking(tx, DEMO_TENANT_ID, name, phone, None, &Origin::default())
                    .await?,
            );
        }
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Kolkata)
            .date_naive();
        let last = today + chrono::Days::new(6);
        let mut booked = 0;
        for (b, branch) in branches.iter().enumerate() {
            let mut loaded = crate::booking::load(
                tx,
                &self.pools.metrics,
                *branch,
                today,
                last,
                false,
                None,
                Default::default(),
            )
            .await?;
            let services: Vec<Uuid> = loaded.schedule.services.iter().map(|s| s.id).collect();
            if services.is_empty() {
                continue;
            }
            for (d, date) in today.iter_days().take(7).enumerate() {
                for n in 0..14usize {
                    // Every fourth visit adds a second service (a blow-dry after a cut, say).
                    let first = services[(n * 7 + d * 3 + b * 5) % services.len()];
                    let mut items = vec![RequestedItem {
                        service_id: first,
                        staff_id: None,
                    }];
                    if n % 4 == 3 {
                        items.push(RequestedItem {
                            service_id: services[(n * 11 + d) % services.len()],
                            staff_id: None,
                        });
                    }
                    let request = SlotRequest {
                        items,
                        first_date: date,
                        last_date: date,
                    };
                    let Ok(slots) = find_slots(&loaded.schedule, &request, chrono::Utc::now()) else {
                        continue;
                    };
                    if slots.is_empty() {
                        continue;
                    }
                    let slot = slots[(n * 37 + d * 11 + b * 3) % slots.len()].clone();
                    let id = Uuid::now_v7();
                    let notes = if n % 5 == 0 { "Prefers a quiet chair" } else { "" };
                    ftry_store::appointments::insert(
                        tx,
                        DEMO_TENANT_ID,
                        &ftry_store::appointments::NewAppointment {
                            id,
                            location_id: *branch,
                            client_id: clients[(n + d * 3 + b) % clients.len()],
                            source: if n % 3 == 0 { "online" } else { "front_desk" },
                            starts_at: slot.start,
                            ends_at: crate::booking::visit_end(&slot),
                            notes,
                            created_by: None,
                            manage_token_hash: None,
                        },
                    )
                    .await?;
                    let items = crate::booking::items_to_insert(&loaded, &slot);
                    crate::booking::insert_items(tx, DEMO_TENANT_ID, id, *branch, &items, true).await?;
                    if n % 2 == 0 {
                        ftry_store::appointments::set_status(tx, id, "confirmed", true).await?;
                    }
                    // What is booked is no longer free for the next visit.
                    for assignment in &slot.items {
                        let Some(service) = loaded
                            .schedule
                            .services
                            .iter()
                            .find(|s| s.id == assignment.service_id)
                            .cloned()
                        else {
                            continue;
                        };
                        if let Some(member) = loaded
                            .schedule
                            .staff
                            .iter_mut()
                            .find(|m| m.id == assignment.staff_id)
                        {
                            member.busy.extend(staff_occupancy(&service, assignment));
                        }
                        if let Some(resource) = loaded
                            .schedule
                            .resources
                            .iter_mut()
                            .find(|r| Some(r.id) == assignment.resource_id)
                        {
                            resource.usage.push(ResourceUsage {
                                interval: Interval {
                                    start: assignment.start,
                                    end: assignment.end,
                                },
                                units: 1,
                            });
                        }
                    }
                    booked += 1;
                }
            }
        }
        Ok(booked)
    }
}

impl App {
    /// The month before today: completed visits, each checked out with a
    /// finalized invoice (some with a retail product) and paid by a mix of
    /// UPI, card, cash and split payments, so reports and the ledger have history.
    async fn seed_month(&self, branches: &[Uuid]) -> Result<usize, AppError> {
        use crate::invoices::{DraftRequest, LineRequest, PaymentRequest};

        let mut tx = self.pools.begin(DEMO_TENANT_ID).await?;
        let owner = users::find_by_email(&mut tx, DEMO_ACCOUNTS[0].2)
            .await?
            .ok_or_else(|| AppError::Internal("the demo owner is missing".into()))?;
        let clients: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM clients ORDER BY name")
            .fetch_all(&mut *tx)
            .await?;
        let products: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM products WHERE active ORDER BY sku")
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        if clients.is_empty() {
            return Ok(0);
        }
        let owner = crate::Principal {
            tenant_id: DEMO_TENANT_ID,
            user_id: owner.id,
            session_id: Uuid::nil(),
            impersonator: None,
            permissions: ftry_domain::permissions::Permission::ALL
                .iter()
                .copied()
                .collect(),
            versions: None,
        };
        let zone = chrono_tz::Asia::Kolkata;
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        let mut invoiced = 0;
        for days_ago in (1..=30u64).rev() {
            let Some(date) = today.checked_sub_days(chrono::Days::new(days_ago)) else {
                continue;
            };
            for (b, branch) in branches.iter().enumerate() {
                let mut tx = self.pools.begin(DEMO_TENANT_ID).await?;
                let loaded = crate::booking::load(
                    &mut tx,
                    &self.pools.metrics,
                    *branch,
                    date,
                    date,
                    false,
                    None,
                    Default::default(),
                )
                .await?;
                tx.commit().await?;
                let weekday = chrono::Datelike::weekday(&date);
                let working: Vec<&ftry_domain::availability::StaffMember> = loaded
                    .schedule
                    .staff
                    .iter()
                    .filter(|m| {
                        m.active
                            && m.working_hours.iter().any(|h| h.weekday == weekday)
                            && !m.services.is_empty()
                    })
                    .collect();
                if working.is_empty() || !loaded.schedule.opening_hours.iter().any(|h| h.weekday == weekday) {
                    continue;
                }
                let mut free_from: std::collections::HashMap<Uuid, u32> = std::collections::HashMap::new();
                for n in 0..6usize {
                    let member = working[(n + days_ago as usize) % working.len()];
                    let performed = &member.services[(n * 3 + b) % member.services.len()];
                    let Some(service) = loaded
                        .schedule
                        .services
                        .iter()
                        .find(|s| s.id == performed.service_id)
                    else {
                        continue;
                    };
                    // A member's visits that day follow one another, with time to clean up.
                    let duration = performed.duration_minutes.unwrap_or(service.duration_minutes);
                    let minutes = free_from
                        .get(&member.id)
                        .copied()
                        .unwrap_or(11 * 60 + 10 * (n as u32 % 4));
                    let occupied =
                        service.buffer_before_minutes + duration + service.buffer_after_minutes + 15;
                    free_from.insert(member.id, minutes + service.buffer_before_minutes + occupied);
                    let Some(local) = date.and_hms_opt((minutes / 60) % 24, minutes % 60, 0) else {
                        continue;
                    };
                    let Some(start) = ftry_domain::schedule::start_instant(zone, local) else {
                        continue;
                    };
                    let assignment = ftry_domain::availability::Assignment {
                        service_id: service.id,
                        staff_id: member.id,
                        resource_id: None,
                        start,
                        end: start + chrono::TimeDelta::minutes(i64::from(duration)),
                    };
                    let appointment_id = Uuid::now_v7();
                    let client = clients[(n * 5 + days_ago as usize + b) % clients.len()];
                    let mut tx = self.pools.begin(DEMO_TENANT_ID).await?;
                    ftry_store::appointments::insert(
                        &mut tx,
                        DEMO_TENANT_ID,
                        &ftry_store::appointments::NewAppointment {
                            id: appointment_id,
                            location_id: *branch,
                            client_id: client,
                            source: "front_desk",
                            starts_at: assignment.start,
                            ends_at: assignment.end,
                            notes: "",
                            created_by: Some(owner.user_id),
                            manage_token_hash: None,
                        },
                    )
                    .await?;
                    let slot = ftry_domain::availability::Slot {
                        start,
                        local_start: local,
                        items: vec![assignment],
                    };
                    let items = crate::booking::items_to_insert(&loaded, &slot);
                    crate::booking::insert_items(
                        &mut tx,
                        DEMO_TENANT_ID,
                        appointment_id,
                        *branch,
                        &items,
                        true,
                    )
                    .await?;
                    tx.commit().await?;
                    let origin = Origin::default();
                    let draft = self
                        .create_draft(
                            &owner,
                            &DraftRequest {
                                location_id: None,
                                appointment_id: Some(appointment_id),
                                client_id: None,
                                customer: None,
                            },
                            &origin,
                        )
                        .await?;
                    let id = draft.invoice.id;
                    if n % 3 == 1 && !products.is_empty() {
                        let line = LineRequest {
                            kind: "product".into(),
                            product_id: Some(products[(n + days_ago as usize) % products.len()]),
                            service_id: None,
                            description: None,
                            code: None,
                            quantity: Some(1),
                            unit_price_paise: None,
                            discount: None,
                            staff_id: Some(member.id),
                        };
                        // A product out of stock is simply not sold.
                        if self.add_invoice_line(&owner, id, &line, &origin).await.is_err() {
                            continue;
                        }
                    }
                    let finalized = match self.finalize_invoice_on(&owner, id, date).await {
                        Ok(view) => view,
                        Err(AppError::Conflict {
                            code: "insufficient_stock",
                            ..
                        }) => continue,
                        Err(e) => return Err(e),
                    };
                    let due = finalized.due_paise;
                    let methods: &[(&str, i64)] = match n % 4 {
                        0 => &[("upi", due)],
                        1 => &[("card", due)],
                        2 => &[("cash", due)],
                        _ => &[("cash", due / 2), ("upi", due - due / 2)],
                    };
                    for (method, amount) in methods.iter().filter(|(_, amount)| *amount > 0) {
                        let payment = PaymentRequest {
                            method: (*method).into(),
                            amount_paise: *amount,
                            tendered_paise: None,
                            reference: None,
                        };
                        self.take_payment(&owner, id, &payment, &origin).await?;
                    }
                    invoiced += 1;
                }
            }
        }
        Ok(invoiced)
    }
}

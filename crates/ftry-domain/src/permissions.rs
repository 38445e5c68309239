//! Permissions and the built-in roles.
//!
//! A permission is `resource:action`. The catalog below is the single source
//! of truth: the database's `permissions` table is synchronized from it by
//! `ftry migrate`, every API route names one of these (or is public), and the
//! built-in roles are defined here, so their rights change with the code for
//! every tenant at once. Custom roles are sets of catalog permissions stored
//! per tenant.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! catalog {
    ($($variant:ident = $name:literal : $description:literal,)*) => {
        /// One right in the catalog.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            pub fn name(self) -> &'static str {
                match self { $(Permission::$variant => $name,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Permission::$variant => $description,)* }
            }
        }

        impl FromStr for Permission {
            type Err = UnknownPermission;
            fn from_str(name: &str) -> Result<Self, Self::Err> {
                match name {
                    $($name => Ok(Permission::$variant),)*
                    other => Err(UnknownPermission(other.to_owned())),
                }
            }
        }
    };
}

catalog! {
    TenantRead = "tenant:read": "See the business's settings and plan",
    TenantUpdate = "tenant:update": "Change the business's settings",
    LocationsRead = "locations:read": "See branches, their hours and booking rules",
    LocationsManage = "locations:manage": "Add branches and change their details, hours and GSTIN",
    UsersRead = "users:read": "See the staff accounts",
    UsersInvite = "users:invite": "Invite staff to an account",
    UsersManage = "users:manage": "Disable and re-enable accounts and change their roles",
    RolesRead = "roles:read": "See roles and what they allow",
    RolesManage = "roles:manage": "Create, change and delete custom roles",
    AuditRead = "audit:read": "Read the audit log",
    ServicesRead = "services:read": "See services and prices",
    ServicesManage = "services:manage": "Change services, durations and prices",
    StaffRead = "staff:read": "See staff profiles and schedules",
    StaffManage = "staff:manage": "Change staff profiles, working hours and time off",
    ResourcesManage = "resources:manage": "Change rooms, chairs and equipment",
    ClientsRead = "clients:read": "See client profiles and history",
    ClientsManage = "clients:manage": "Create, edit and merge clients",
    CalendarOwn = "calendar:own": "See one's own appointments and mark them done",
    CalendarRead = "calendar:read": "See everyone's calendar",
    AppointmentsManage = "appointments:manage": "Book, move, check in and cancel appointments",
    InvoicesCreate = "invoices:create": "Check out: draft and finalize invoices",
    InvoicesRefund = "invoices:refund": "Issue credit notes",
    PaymentsTake = "payments:take": "Record payments",
    DiscountsApprove = "discounts:approve": "Approve discounts above the front-desk limit",
    ProductsManage = "products:manage": "Change retail products and their prices",
    StockManage = "stock:manage": "Record stock purchases, adjustments and counts",
    ReportsOperations = "reports:operations": "See appointment and utilization reports",
    ReportsRevenue = "reports:revenue": "See revenue, tax and commission reports",
    DataExport = "data:export": "Export all of the business's data",
    WebhooksManage = "webhooks:manage": "Register webhooks for integrations and read their delivery log",
    MessagesRead = "messages:read": "See the messages sent to clients and how they were delivered",
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a permission")]
pub struct UnknownPermission(pub String);

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The roles every tenant has from sign-up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum BuiltinRole {
    Owner,
    Admin,
    Manager,
    Receptionist,
    Stylist,
}

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 5] = [
        BuiltinRole::Owner,
        BuiltinRole::Admin,
        BuiltinRole::Manager,
        BuiltinRole::Receptionist,
        BuiltinRole::Stylist,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Manager => "manager",
            Self::Receptionist => "receptionist",
            Self::Stylist => "stylist",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Owner => "Everything, including the business's settings and its owners",
            Self::Admin => "Everything except changing the business's settings and data export",
            Self::Manager => {
                "Runs the salon: catalog, staff, calendar, checkout, reports; not accounts or roles"
            }
            Self::Receptionist => {
                "Front desk: books, checks in, checks out and takes payment; cannot change prices"
            }
            Self::Stylist => "Own calendar and the booking details of own clients",
        }
    }

    /// What the role may do. The matrix in docs/permissions.md is generated
    /// from this function by a test, so the two never disagree.
    pub fn permissions(self) -> Vec<Permission> {
        use Permission::*;
        match self {
            Self::Owner => Permission::ALL.to_vec(),
            Self::Admin => Permission::ALL
                .iter()
                .copied()
                .filter(|p| !matches!(p, TenantUpdate | DataExport))
                .collect(),
            Self::Manager => vec![
                TenantRead,
                LocationsRead,
                LocationsManage,
                UsersRead,
                RolesRead,
                ServicesRead,
                ServicesManage,
                StaffRead,
                StaffManage,
                ResourcesManage,
                ClientsRead,
                ClientsManage,
                CalendarOwn,
                CalendarRead,
                AppointmentsManage,
                InvoicesCreate,
                InvoicesRefund,
                PaymentsTake,
                DiscountsApprove,
                ProductsManage,
                StockManage,
                ReportsOperations,
                ReportsRevenue,
                MessagesRead,
            ],
            Self::Receptionist => vec![
                TenantRead,
                LocationsRead,
                ServicesRead,
                StaffRead,
                ClientsRead,
                ClientsManage,
                CalendarOwn,
                CalendarRead,
                AppointmentsManage,
                InvoicesCreate,
                PaymentsTake,
                MessagesRead,
            ],
            Self::Stylist => vec![TenantRead, LocationsRead, ServicesRead, StaffRead, CalendarOwn],
        }
    }
}

/// The permission matrix as Markdown, one row per permission.
pub fn matrix_markdown() -> String {
    let mut out = String::from("| permission | what it allows |");
    for role in BuiltinRole::ALL {
        out.push_str(&format!(" {} |", role.name()));
    }
    out.push_str("\n| --- | --- |");
    out.push_str(&" :---: |".repeat(BuiltinRole::ALL.len()));
    out.push('\n');
    for permission in Permission::ALL {
        out.push_str(&format!(
            "| `{}` | {} |",
            permission.name(),
            permission.description()
        ));
        for role in BuiltinRole::ALL {
            let mark = if role.permissions().contains(permission) {
                "✓"
            } else {
                ""
            };
            out.push_str(&format!(" {mark} |"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_follow_resource_action() {
        for p in Permission::ALL {
            assert_eq!(p.name().parse::<Permission>(), Ok(*p));
            let (resource, action) = p.name().split_once(':').unwrap();
            assert!(!resource.is_empty() && !action.is_empty());
            assert!(p
                .name()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b':' || b == b'_'));
        }
        assert_eq!(
            "users:fly".parse::<Permission>(),
            Err(UnknownPermission("users:fly".into()))
        );
    }

    #[test]
    fn each_role_is_a_subset_of_the_one_above() {
        let has = |role: BuiltinRole, p: Permission| role.permissions().contains(&p);
        for pair in BuiltinRole::ALL.windows(2) {
            for p in pair[1].permissions() {
                assert!(
                    has(pair[0], p),
                    "{} has {p} but {} does not",
                    pair[1].name(),
                    pair[0].name()
                );
            }
        }
    }

    #[test]
    fn docs_permissions_md_is_the_generated_matrix() {
        let doc = include_str!("../../../docs/permissions.md");
        let start = doc
            .find("| permission |")
            .expect("the matrix in docs/permissions.md");
        assert_eq!(
            &doc[start..],
            matrix_markdown(),
            "docs/permissions.md is stale; regenerate the table from matrix_markdown()"
        );
    }

    #[test]
    fn the_matrix_keeps_the_promises_made_to_salons() {
        use Permission::*;
        let has = |role: BuiltinRole, p: Permission| role.permissions().contains(&p);
        assert!(
            !has(BuiltinRole::Stylist, ReportsRevenue),
            "stylists do not see revenue"
        );
        assert!(has(BuiltinRole::Stylist, CalendarOwn));
        assert!(!has(BuiltinRole::Stylist, CalendarRead));
        assert!(has(BuiltinRole::Receptionist, AppointmentsManage));
        assert!(has(BuiltinRole::Receptionist, PaymentsTake));
        assert!(
            !has(BuiltinRole::Receptionist, ServicesManage),
            "receptionists cannot change prices"
        );
        assert!(!has(BuiltinRole::Receptionist, UsersManage));
        assert!(!has(BuiltinRole::Receptionist, RolesManage));
        assert!(!has(BuiltinRole::Manager, RolesManage));
        assert!(!has(BuiltinRole::Admin, TenantUpdate));
    }
}

//! What the business did, counted for Prometheus after each change commits:
//! sign-ups, logins, appointments, invoices and money taken. Labels are
//! bounded sets (source, status, method, reason), never a user; the
//! business's id (`tenant_id`) only on the appointment, invoice and payment
//! counters, and only when `admin.per_tenant_labels` is on (for an install
//! with a handful of businesses: each adds its own series).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use uuid::Uuid;

/// The labels of a business counter: its own bounded label, and the
/// business's id when per-tenant labels are switched on.
pub type Labels = Vec<(&'static str, String)>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabel {
    /// `success` or `failure`.
    pub outcome: &'static str,
    /// Empty on success; the problem code on failure (`invalid_credentials`,
    /// `account_locked`, `rate_limited`, `invalid_input`, …).
    pub reason: &'static str,
}

#[derive(Clone, Default)]
pub struct BusinessMetrics {
    per_tenant: bool,
    pub signups: Counter,
    pub logins: Family<LoginLabel, Counter>,
    pub appointments_booked: Family<Labels, Counter>,
    pub appointment_status_changes: Family<Labels, Counter>,
    /// Without per-tenant labels: one unlabelled counter.
    pub invoices_finalized: Counter,
    /// With them: one series per business.
    pub invoices_finalized_by_tenant: Family<Labels, Counter>,
    pub payments_paise: Family<Labels, Counter>,
    /// A refresh token presented a second time: a likely stolen session,
    /// which ftry ends.
    pub token_reuse_detections: Counter,
}

impl BusinessMetrics {
    /// Counters with the business's id as a label when `per_tenant` is on.
    pub fn new(per_tenant: bool) -> Self {
        Self {
            per_tenant,
            ..Self::default()
        }
    }

    fn labels(&self, label: Option<(&'static str, &str)>, tenant: Uuid) -> Labels {
        let mut labels: Labels = label.map(|(k, v)| (k, v.to_owned())).into_iter().collect();
        if self.per_tenant {
            labels.push(("tenant_id", tenant.to_string()));
        }
        labels
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register("ftry_signups", "Businesses signed up", self.signups.clone());
        registry.register(
            "ftry_logins",
            "Login attempts by outcome and failure reason",
            self.logins.clone(),
        );
        registry.register(
            "ftry_appointments_booked",
            "Appointments booked, by source (front_desk, walk_in, online)",
            self.appointments_booked.clone(),
        );
        registry.register(
            "ftry_appointment_status_changes",
            "Appointments moved to a status (confirmed, checked_in, in_service, completed, no_show, cancelled)",
            self.appointment_status_changes.clone(),
        );
        if self.per_tenant {
            registry.register(
                "ftry_invoices_finalized",
                "Invoices finalized",
                self.invoices_finalized_by_tenant.clone(),
            );
        } else {
            registry.register(
                "ftry_invoices_finalized",
                "Invoices finalized",
                self.invoices_finalized.clone(),
            );
        }
        registry.register(
            "ftry_payments_paise",
            "Money received on invoices, in paise, by payment method (refunds not subtracted)",
            self.payments_paise.clone(),
        );
        registry.register(
            "ftry_token_reuse_detections",
            "Refresh tokens presented again after rotation; each ends its session",
            self.token_reuse_detections.clone(),
        );
    }

    pub(crate) fn booked(&self, tenant: Uuid, source: &str) {
        self.appointments_booked
            .get_or_create(&self.labels(Some(("source", source)), tenant))
            .inc();
    }

    pub(crate) fn status_changed(&self, tenant: Uuid, status: &str) {
        self.appointment_status_changes
            .get_or_create(&self.labels(Some(("status", status)), tenant))
            .inc();
    }

    pub(crate) fn finalized(&self, tenant: Uuid) {
        if self.per_tenant {
            self.invoices_finalized_by_tenant
                .get_or_create(&self.labels(None, tenant))
                .inc();
        } else {
            self.invoices_finalized.inc();
        }
    }

    pub(crate) fn paid(&self, tenant: Uuid, method: &str, paise: i64) {
        self.payments_paise
            .get_or_create(&self.labels(Some(("method", method)), tenant))
            .inc_by(u64::try_from(paise).unwrap_or(0));
    }

    pub(crate) fn login(&self, outcome: Result<(), &crate::AppError>) {
        use crate::AppError;
        let label = match outcome {
            Ok(()) => LoginLabel {
                outcome: "success",
                reason: "",
            },
            Err(e) => LoginLabel {
                outcome: "failure",
                reason: match e {
                    AppError::Unauthorized { code, .. } | AppError::Forbidden { code, .. } => code,
                    AppError::Locked { .. } => "account_locked",
                    AppError::TooManyRequests { .. } => "rate_limited",
                    AppError::Validation(_) => "invalid_input",
                    AppError::Conflict { code, .. } | AppError::ConflictWith { code, .. } => code,
                    AppError::NotFound => "not_found",
                    AppError::Internal(_) => "internal",
                },
            },
        };
        self.logins.get_or_create(&label).inc();
    }
}

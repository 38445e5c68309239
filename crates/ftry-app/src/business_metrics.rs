//! What the business did, counted for Prometheus after each change commits:
//! sign-ups, logins, appointments, invoices and money taken. Labels are
//! bounded sets (source, status, method, reason), never a tenant or a user.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabel {
    pub source: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabel {
    pub method: String,
}

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
    pub signups: Counter,
    pub logins: Family<LoginLabel, Counter>,
    pub appointments_booked: Family<SourceLabel, Counter>,
    pub appointment_status_changes: Family<StatusLabel, Counter>,
    pub invoices_finalized: Counter,
    pub payments_paise: Family<MethodLabel, Counter>,
    /// A refresh token presented a second time: a likely stolen session,
    /// which ftry ends.
    pub token_reuse_detections: Counter,
}

impl BusinessMetrics {
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
        registry.register(
            "ftry_invoices_finalized",
            "Invoices finalized",
            self.invoices_finalized.clone(),
        );
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

    pub(crate) fn booked(&self, source: &str) {
        self.appointments_booked
            .get_or_create(&SourceLabel {
                source: source.to_owned(),
            })
            .inc();
    }

    pub(crate) fn status_changed(&self, status: &str) {
        self.appointment_status_changes
            .get_or_create(&StatusLabel {
                status: status.to_owned(),
            })
            .inc();
    }

    pub(crate) fn paid(&self, method: &str, paise: i64) {
        self.payments_paise
            .get_or_create(&MethodLabel {
                method: method.to_owned(),
            })
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

//! The audit log: who did what, to which resource, from where, with what
//! outcome. Events are written in the transaction of the change they record.

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    User { id: Uuid, impersonator: Option<Uuid> },
    PlatformAdmin(Uuid),
    System,
    Anonymous,
}

impl Actor {
    fn parts(self) -> (&'static str, Option<Uuid>, Option<Uuid>) {
        match self {
            Actor::User { id, impersonator } => ("user", Some(id), impersonator),
            Actor::PlatformAdmin(id) => ("platform_admin", Some(id), None),
            Actor::System => ("system", None, None),
            Actor::Anonymous => ("anonymous", None, None),
        }
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<std::net::IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub actor: Actor,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub outcome: Outcome,
}

impl<'a> Event<'a> {
    pub fn new(actor: Actor, action: &'a str, resource_type: &'a str, resource_id: impl ToString) -> Self {
        Self {
            actor,
            action,
            resource_type,
            resource_id: Some(resource_id.to_string()),
            before: None,
            after: None,
            outcome: Outcome::Success,
        }
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn before(mut self, value: impl Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub fn after(mut self, value: impl Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }
}

/// Record an event of `tenant_id` (the transaction's tenant).
pub async fn record(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    origin: &Origin,
    event: Event<'_>,
) -> Result<(), sqlx::Error> {
    static STATEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| insert_statement(1));
    bind(sqlx::query(&STATEMENT), tenant_id, origin, event)
        .execute(conn)
        .await?;
    Ok(())
}

/// The `INSERT` of one event, its parameters numbered from `$first` (as a
/// statement of its own, or a part of a larger one); bound by [`bind`].
pub(crate) fn insert_statement(first: usize) -> String {
    let parameters: Vec<String> = (first..first + 14).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO audit_events (tenant_id, id, actor_type, actor_id, impersonator_id, action, resource_type,
                                   resource_id, before, after, outcome, ip, user_agent, request_id)
         VALUES ({})",
        parameters.join(", ")
    )
}

/// Bind the parameters of [`insert_statement`] for one event.
pub(crate) fn bind<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    tenant_id: Uuid,
    origin: &'q Origin,
    event: Event<'q>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let (actor_type, actor_id, impersonator_id) = event.actor.parts();
    let query = query
        .bind(tenant_id)
        .bind(Uuid::now_v7())
        .bind(actor_type)
        .bind(actor_id)
        .bind(impersonator_id);
    bind_what(query, origin, event)
}

/// Bind what both audit logs record of an event after who acted: the
/// action, its resource, before and after, outcome, and where it came from.
fn bind_what<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    origin: &'q Origin,
    event: Event<'q>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(event.action)
        .bind(event.resource_type)
        .bind(event.resource_id)
        .bind(event.before)
        .bind(event.after)
        .bind(event.outcome.name())
        .bind(origin.ip.map(IpNet::from))
        .bind(origin.user_agent.as_deref())
        .bind(origin.request_id.as_deref())
}

/// Record an event outside any tenant, or a platform operator's action on one.
pub async fn record_platform(
    conn: &mut PgConnection,
    tenant_id: Option<Uuid>,
    origin: &Origin,
    event: Event<'_>,
) -> Result<(), sqlx::Error> {
    let (actor_type, actor_id, _) = event.actor.parts();
    let query = sqlx::query(
        "INSERT INTO platform_audit_events (id, actor_type, actor_id, tenant_id, action, resource_type,
                                            resource_id, before, after, outcome, ip, user_agent, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(Uuid::now_v7())
    .bind(actor_type)
    .bind(actor_id)
    .bind(tenant_id);
    bind_what(query, origin, event).execute(conn).await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub impersonator_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub outcome: String,
    #[serde(serialize_with = "ip_text")]
    pub ip: Option<IpNet>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

fn ip_text<S: serde::Serializer>(ip: &Option<IpNet>, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        Some(ip) => s.serialize_str(&ip.addr().to_string()),
        None => s.serialize_none(),
    }
}

/// Filters of the audit-log query; all optional.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Return events older than this one (ids are time-ordered UUIDv7).
    pub before_id: Option<Uuid>,
}

/// Newest first, at most `limit`.
pub async fn list(
    conn: &mut PgConnection,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<StoredEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, occurred_at, actor_type, actor_id, impersonator_id, action, resource_type, resource_id,
                before, after, outcome, ip, user_agent, request_id
           FROM audit_events
          WHERE ($1::text IS NULL OR action = $1)
            AND ($2::uuid IS NULL OR actor_id = $2)
            AND ($3::text IS NULL OR resource_type = $3)
            AND ($4::text IS NULL OR resource_id = $4)
            AND ($5::text IS NULL OR outcome = $5)
            AND ($6::timestamptz IS NULL OR occurred_at >= $6)
            AND ($7::timestamptz IS NULL OR occurred_at < $7)
            AND ($8::uuid IS NULL OR id < $8)
          ORDER BY id DESC LIMIT $9",
    )
    .bind(filter.action.as_deref())
    .bind(filter.actor_id)
    .bind(filter.resource_type.as_deref())
    .bind(filter.resource_id.as_deref())
    .bind(filter.outcome.as_deref())
    .bind(filter.since)
    .bind(filter.until)
    .bind(filter.before_id)
    .bind(limit)
    .fetch_all(conn)
    .await
}

//! Sign-up: a new business, its first branch and its owner, in one
//! transaction, and the owner logged in.

use std::str::FromStr;

use ftry_domain::contact::{Email, Phone};
use ftry_domain::gstin::{state_name, Gstin};
use ftry_domain::password;
use ftry_domain::permissions::BuiltinRole;
use ftry_domain::tenants::Slug;
use ftry_store::audit::{self, Actor, Event, Origin};
use ftry_store::tenants::{self, Location, NewLocation, Tenant};
use ftry_store::{roles, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Tokens;
use crate::error::{AppError, Validator};
use crate::App;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// The business's name, e.g. "Lotus Salon & Spa".
    pub business_name: String,
    /// The URL name wanted for the business; derived from the name when absent.
    pub slug: Option<String>,
    pub location: NewLocationRequest,
    pub owner: NewOwnerRequest,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLocationRequest {
    pub name: String,
    pub address: Option<String>,
    /// Two-digit GST state code, e.g. "27" for Maharashtra.
    pub state_code: String,
    /// The branch's GSTIN, if registered; its state must match `state_code`.
    pub gstin: Option<String>,
    /// IANA time zone; default Asia/Kolkata.
    pub timezone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwnerRequest {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// 12–128 characters, not a common password.
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupResult {
    #[schema(value_type = Object)]
    pub tenant: Tenant,
    #[schema(value_type = Object)]
    pub location: Location,
    pub user_id: Uuid,
    pub tokens: Tokens,
}

struct Valid {
    business_name: String,
    slug: Option<Slug>,
    location_name: String,
    address: String,
    state_code: String,
    gstin: Option<Gstin>,
    timezone: String,
    owner_name: String,
    email: Email,
    phone: Option<Phone>,
}

/// Validate a location's fields (shared with adding branches later).
pub(crate) fn validate_location(
    v: &mut Validator,
    prefix: &str,
    request: &NewLocationRequest,
) -> Option<(String, String, String, Option<Gstin>, String)> {
    let field = |name: &str| format!("{prefix}{name}");
    let name = v.text(&field("name"), &request.name, 200);
    let address = v
        .optional_text(&field("address"), request.address.as_deref(), 500)
        .unwrap_or_default();
    let state_code = request.state_code.trim().to_owned();
    let state_ok = state_name(&state_code).is_some();
    if !state_ok {
        v.push(
            &field("state_code"),
            "must be a two-digit GST state code, e.g. 27 for Maharashtra",
        );
    }
    let gstin = match request.gstin.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        None => None,
        Some(text) => match Gstin::parse(text) {
            Ok(gstin) if state_ok && gstin.state_code() != state_code => {
                v.push(
                    &field("gstin"),
                    format!("is registered in state {}, not {state_code}", gstin.state_code()),
                );
                None
            }
            Ok(gstin) => Some(gstin),
            Err(e) => {
                v.push(&field("gstin"), e);
                None
            }
        },
    };
    let timezone = request
        .timezone
        .as_deref()
        .unwrap_or("Asia/Kolkata")
        .trim()
        .to_owned();
    if chrono_tz::Tz::from_str(&timezone).is_err() {
        v.push(
            &field("timezone"),
            "must be an IANA time zone such as Asia/Kolkata",
        );
    }
    Some((name?, address, state_code, gstin, timezone)).filter(|_| state_ok)
}

fn validate(request: &SignupRequest) -> Result<Valid, AppError> {
    let mut v = Validator::default();
    let business_name = v.text("business_name", &request.business_name, 200);
    let slug = match request.slug.as_deref() {
        Some(slug) => v.check("slug", Slug::parse(slug)).map(Some),
        None => Some(None),
    };
    let location = validate_location(&mut v, "location.", &request.location);
    let owner_name = v.text("owner.name", &request.owner.name, 200);
    let email = v.check("owner.email", Email::parse(&request.owner.email));
    let phone = match request
        .owner
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(phone) => v.check("owner.phone", Phone::parse(phone)).map(Some),
        None => Some(None),
    };
    let personal: Vec<&str> = [
        request.owner.name.as_str(),
        request.owner.email.as_str(),
        request.business_name.as_str(),
    ]
    .into_iter()
    .collect();
    v.check(
        "owner.password",
        password::check(&request.owner.password, &personal),
    );
    v.finish()?;
    let (Some(business_name), Some(slug), Some(location), Some(owner_name), Some(email), Some(phone)) =
        (business_name, slug, location, owner_name, email, phone)
    else {
        return Err(AppError::Internal("validation passed without values".into()));
    };
    let (location_name, address, state_code, gstin, timezone) = location;
    Ok(Valid {
        business_name,
        slug,
        location_name,
        address,
        state_code,
        gstin,
        timezone,
        owner_name,
        email,
        phone,
    })
}

impl App {
    pub async fn signup(&self, request: &SignupRequest, origin: &Origin) -> Result<SignupResult, AppError> {
        let valid = validate(request)?;
        let password_hash = self.passwords.hash(&request.owner.password).await?;
        let tenant_id = Uuid::now_v7();
        let mut tx = self.pools.begin(tenant_id).await?;
        let slug = match &valid.slug {
            Some(wanted) => {
                if !tenants::insert(&mut tx, tenant_id, wanted.as_str(), &valid.business_name).await? {
                    return Err(AppError::conflict(
                        "slug_taken",
                        format!("The address `{wanted}` is taken; choose another slug."),
                    ));
                }
                wanted.clone()
            }
            None => {
                self.insert_with_free_slug(&mut tx, tenant_id, &valid.business_name)
                    .await?
            }
        };
        let location = tenants::insert_location(
            &mut tx,
            tenant_id,
            &NewLocation {
                id: Uuid::now_v7(),
                name: &valid.location_name,
                address: &valid.address,
                state_code: &valid.state_code,
                gstin: valid.gstin.as_ref().map(Gstin::as_str),
                timezone: &valid.timezone,
            },
        )
        .await?;
        let user_id = Uuid::now_v7();
        users::insert(
            &mut tx,
            tenant_id,
            &users::NewUser {
                id: user_id,
                email: valid.email.as_str(),
                name: &valid.owner_name,
                phone: valid.phone.as_ref().map(Phone::as_str),
                password_hash: Some(&password_hash),
                status: "active",
            },
        )
        .await?;
        let builtins = roles::create_builtins(&mut tx, tenant_id).await?;
        let owner_role: Vec<Uuid> = builtins
            .iter()
            .filter(|(r, _)| *r == BuiltinRole::Owner)
            .map(|(_, id)| *id)
            .collect();
        roles::set_user_roles(&mut tx, tenant_id, user_id, &owner_role).await?;
        let tenant = tenants::get(&mut tx, tenant_id)
            .await?
            .ok_or_else(|| AppError::Internal("tenant vanished during sign-up".into()))?;
        let actor = Actor::User {
            id: user_id,
            impersonator: None,
        };
        audit::record(
            &mut tx,
            tenant_id,
            origin,
            Event::new(actor, "tenant.signup", "tenant", tenant_id).after(serde_json::json!({
                "slug": slug.as_str(), "name": valid.business_name, "location_id": location.id, "owner_id": user_id,
            })),
        )
        .await?;
        let tokens = self
            .open_session(&mut tx, tenant_id, user_id, origin, None)
            .await?;
        tx.commit().await?;
        self.business.signups.inc();
        tracing::info!(tenant_id = %tenant_id, slug = %slug, "new business signed up");
        Ok(SignupResult {
            tenant,
            location,
            user_id,
            tokens,
        })
    }

    /// The name's slug, or the first numbered alternative that is free.
    async fn insert_with_free_slug(
        &self,
        tx: &mut sqlx::PgConnection,
        tenant_id: Uuid,
        name: &str,
    ) -> Result<Slug, AppError> {
        let base = match Slug::from_name(name) {
            Some(slug) => slug,
            // A name with no Latin letters or digits: a neutral slug the owner can change.
            None => Slug::parse(&format!("salon-{}", &tenant_id.simple().to_string()[24..]))
                .map_err(|e| AppError::Internal(format!("fallback slug: {e}")))?,
        };
        for n in 1..=50u32 {
            let candidate = if n == 1 { base.clone() } else { base.numbered(n) };
            if tenants::insert(tx, tenant_id, candidate.as_str(), name).await? {
                return Ok(candidate);
            }
        }
        Err(AppError::conflict(
            "slug_taken",
            "Choose a slug for the business; the name's are all taken.",
        ))
    }
}

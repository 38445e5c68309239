//! The business itself: its settings and its branches.

use ftry_domain::permissions::Permission;
use ftry_store::audit::{self, Event, Origin};
/// A branch, as the use cases give it.
pub use ftry_store::tenants::Location;
use ftry_store::tenants::{self, NewLocation, Tenant};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, Validator};
use crate::signup::{validate_location, NewLocationRequest};
use crate::{App, Principal};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantUpdateRequest {
    pub name: Option<String>,
    /// `regular` (GST charged where the branch has a GSTIN), `composition`
    /// (bills of supply, no GST collected) or `unregistered`. Applies to
    /// documents finalized from now on.
    pub gst_registration: Option<String>,
    /// Whether the prices of services and products include GST.
    pub prices_include_tax: Option<bool>,
    /// Whether invoice totals are rounded to the rupee.
    pub round_off: Option<bool>,
    /// Whether a sale may take stock below zero.
    pub allow_negative_stock: Option<bool>,
}

/// Changes to a branch: its name, address and GSTIN (`null` removes the
/// GSTIN). Its state and time zone stay: documents and bookings depend on them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationUpdateRequest {
    pub name: Option<String>,
    pub address: Option<String>,
    #[serde(default, deserialize_with = "crate::invoices::present")]
    #[schema(value_type = Option<String>)]
    pub gstin: Option<Option<String>>,
}

/// The registrations a business may have under GST.
pub const GST_REGISTRATIONS: [&str; 3] = ["regular", "composition", "unregistered"];

impl App {
    pub async fn tenant(&self, principal: &Principal) -> Result<Tenant, AppError> {
        principal.require(Permission::TenantRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let tenant = tenants::get(&mut tx, principal.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(tenant)
    }

    pub async fn update_tenant(
        &self,
        principal: &Principal,
        request: &TenantUpdateRequest,
        origin: &Origin,
    ) -> Result<Tenant, AppError> {
        principal.require(Permission::TenantUpdate)?;
        let mut v = Validator::default();
        let name = request.name.as_deref().and_then(|n| v.text("name", n, 200));
        if let Some(registration) = request.gst_registration.as_deref() {
            if !GST_REGISTRATIONS.contains(&registration) {
                v.push("gst_registration", "must be regular, composition or unregistered");
            }
        }
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = tenants::get(&mut tx, principal.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tenants::change_settings(
            &mut tx,
            principal.tenant_id,
            &tenants::SettingsChange {
                name: name.as_deref(),
                gst_registration: request.gst_registration.as_deref(),
                prices_include_tax: request.prices_include_tax,
                round_off: request.round_off,
                allow_negative_stock: request.allow_negative_stock,
            },
        )
        .await?;
        let after = tenants::get(&mut tx, principal.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        // The log keeps the settings the request named, as they were and are.
        let named = |t: &Tenant| {
            let mut fields = serde_json::Map::new();
            let mut put = |asked: bool, key: &str, value: serde_json::Value| {
                if asked {
                    fields.insert(key.into(), value);
                }
            };
            put(request.name.is_some(), "name", t.name.clone().into());
            put(
                request.gst_registration.is_some(),
                "gst_registration",
                t.gst_registration.clone().into(),
            );
            put(
                request.prices_include_tax.is_some(),
                "prices_include_tax",
                t.prices_include_tax.into(),
            );
            put(request.round_off.is_some(), "round_off", t.round_off.into());
            put(
                request.allow_negative_stock.is_some(),
                "allow_negative_stock",
                t.allow_negative_stock.into(),
            );
            serde_json::Value::Object(fields)
        };
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "tenant.updated", "tenant", principal.tenant_id)
                .before(named(&before))
                .after(named(&after)),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn locations(&self, principal: &Principal) -> Result<Vec<Location>, AppError> {
        principal.require(Permission::LocationsRead)?;
        // Every page of the web app names the branches: held by the node
        // while the schedule version (which their changes move) stands.
        let version = principal.versions.map(|v| v.schedule);
        if let Some(list) = version.and_then(|v| self.schedules.locations(principal.tenant_id, v)) {
            return Ok((*list).clone());
        }
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let list = tenants::list_locations(&mut tx).await?;
        tx.commit().await?;
        if let Some(version) = version {
            self.schedules
                .hold_locations(principal.tenant_id, version, std::sync::Arc::new(list.clone()));
        }
        Ok(list)
    }

    pub async fn location(&self, principal: &Principal, id: Uuid) -> Result<Location, AppError> {
        principal.require(Permission::LocationsRead)?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let location = tenants::get_location(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        tx.commit().await?;
        Ok(location)
    }

    /// Change a branch's name, address or GSTIN (documents already issued
    /// keep the supplier details they were issued with).
    pub async fn update_location(
        &self,
        principal: &Principal,
        id: Uuid,
        request: &LocationUpdateRequest,
        origin: &Origin,
    ) -> Result<Location, AppError> {
        principal.require(Permission::LocationsManage)?;
        let mut v = Validator::default();
        let name = request.name.as_deref().and_then(|n| v.text("name", n, 200));
        let address = request
            .address
            .as_deref()
            .and_then(|a| v.optional_text("address", Some(a), 500));
        let gstin = match &request.gstin {
            Some(Some(text)) if !text.trim().is_empty() => v
                .check("gstin", ftry_domain::gstin::Gstin::parse(text.trim()))
                .map(Some),
            Some(_) => Some(None),
            None => None,
        };
        v.finish()?;
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let before = tenants::get_location(&mut tx, id)
            .await?
            .ok_or(AppError::NotFound)?;
        if let Some(Some(gstin)) = &gstin {
            if gstin.state_code() != before.state_code {
                return Err(AppError::invalid(
                    "gstin",
                    format!(
                        "is registered in state {}, not the branch's state {}",
                        gstin.state_code(),
                        before.state_code
                    ),
                ));
            }
        }
        let after = tenants::update_location(
            &mut tx,
            id,
            name.as_deref(),
            address.as_deref(),
            gstin.as_ref().map(|g| g.as_ref().map(|g| g.as_str())),
        )
        .await?
        .ok_or(AppError::NotFound)?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "location.updated", "location", id)
                .before(&before)
                .after(&after),
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Add a branch, within the plan's limit.
    pub async fn add_location(
        &self,
        principal: &Principal,
        request: &NewLocationRequest,
        origin: &Origin,
    ) -> Result<Location, AppError> {
        principal.require(Permission::LocationsManage)?;
        let mut v = Validator::default();
        let valid = validate_location(&mut v, "", request);
        v.finish()?;
        let Some((name, address, state_code, gstin, timezone)) = valid else {
            return Err(AppError::Internal("validation passed without values".into()));
        };
        let mut tx = self.pools.begin(principal.tenant_id).await?;
        let tenant = tenants::get(&mut tx, principal.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        tenants::lock(&mut tx, principal.tenant_id).await?;
        if tenants::usage(&mut tx).await?.locations >= i64::from(tenant.max_locations) {
            return Err(AppError::conflict(
                "plan_limit_reached",
                format!(
                    "Your plan allows {} branches; upgrade to add more.",
                    tenant.max_locations
                ),
            ));
        }
        let location = tenants::insert_location(
            &mut tx,
            principal.tenant_id,
            &NewLocation {
                id: Uuid::now_v7(),
                name: &name,
                address: &address,
                state_code: &state_code,
                gstin: gstin.as_ref().map(|g| g.as_str()),
                timezone: &timezone,
            },
        )
        .await?;
        audit::record(
            &mut tx,
            principal.tenant_id,
            origin,
            Event::new(principal.actor(), "location.created", "location", location.id).after(&location),
        )
        .await?;
        tx.commit().await?;
        Ok(location)
    }
}

//! `/api/v1/clients`: the business's clients (CRM).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use ftry_app::clients::{Client, ClientChanges, ClientPage, ClientSearch, MergeRequest, NewClient};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{Auth, RequestOrigin};
use crate::error::ApiError;
use crate::problem::{Json, ProblemDoc, Query};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search, create))
        .routes(routes!(get_one, update))
        .routes(routes!(merge))
        .routes(routes!(history))
}

/// A client's visits: upcoming (soonest first), past (latest first, at most
/// 100 each), and how many were completed, missed (no-show) or cancelled.
#[utoipa::path(get, path = "/api/v1/clients/{client_id}/history", tag = "clients",
    params(("client_id" = Uuid, Path)),
    responses((status = 200, body = ftry_app::appointments::ClientHistory), (status = 404, body = crate::problem::ProblemDoc)),
    security(("bearer" = ["clients:read"])))]
async fn history(
    axum::extract::State(state): axum::extract::State<AppState>,
    crate::access::Auth(principal): crate::access::Auth,
    axum::extract::Path(client_id): axum::extract::Path<Uuid>,
) -> Result<crate::problem::Json<ftry_app::appointments::ClientHistory>, crate::error::ApiError> {
    Ok(crate::problem::Json(
        state.app.client_history(&principal, client_id).await?,
    ))
}

/// Search clients by name prefix (`q`), exact phone or exact email, by name, with cursor pagination.
/// Merged records never appear.
#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", params(ClientSearch),
    responses((status = 200, body = ClientPage, description = "`items` and `next_cursor` (null on the last page)"),
              (status = 400, body = ProblemDoc), (status = 422, description = "validation_failed", body = ProblemDoc)),
    security(("bearer" = ["clients:read"])))]
async fn search(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(query): Query<ClientSearch>,
) -> Result<Json<ClientPage>, ApiError> {
    Ok(Json(state.app.search_clients(&principal, &query).await?))
}

/// Add a client. Phone and email are stored encrypted.
///
/// A phone number that another client of the business already has is refused
/// with 409 `client_exists`; the problem's `existing_client_id` names that client.
#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", request_body = NewClient,
    responses((status = 201, body = Client, description = "The new client"),
              (status = 409, description = "client_exists: the problem's `existing_client_id` is the client \
                  that has this phone number", body = ProblemDoc),
              (status = 422, description = "validation_failed, invalid_body", body = ProblemDoc)),
    security(("bearer" = ["clients:manage"])))]
async fn create(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Json(request): Json<NewClient>,
) -> Result<(StatusCode, Json<Client>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.app.create_client(&principal, &request, &origin).await?),
    ))
}

/// One client; a merged record shows `merged_into`.
#[utoipa::path(get, path = "/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = Uuid, Path)),
    responses((status = 200, body = Client, description = "The client"), (status = 404, body = ProblemDoc)),
    security(("bearer" = ["clients:read"])))]
async fn get_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(client_id): Path<Uuid>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(state.app.get_client(&principal, client_id).await?))
}

/// Change some fields of a client: absent fields stay, `null` clears.
#[utoipa::path(patch, path = "/api/v1/clients/{client_id}", tag = "clients", params(("client_id" = Uuid, Path)),
    request_body = ClientChanges,
    responses((status = 200, body = Client, description = "The client after the change"),
              (status = 404, body = ProblemDoc),
              (status = 409, description = "client_exists (with `existing_client_id`), client_merged", body = ProblemDoc),
              (status = 422, description = "validation_failed, invalid_body", body = ProblemDoc)),
    security(("bearer" = ["clients:manage"])))]
async fn update(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(client_id): Path<Uuid>,
    Json(request): Json<ClientChanges>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(
        state
            .app
            .update_client(&principal, client_id, &request, &origin)
            .await?,
    ))
}

/// Merge a duplicate record into this client: empty fields are filled from
/// the duplicate, tags united, notes appended; the duplicate is marked
/// `merged_into` this client and no longer appears in searches.
#[utoipa::path(post, path = "/api/v1/clients/{client_id}/merge", tag = "clients", params(("client_id" = Uuid, Path)),
    request_body = MergeRequest,
    responses((status = 200, body = Client, description = "The client kept, after the merge"),
              (status = 404, body = ProblemDoc),
              (status = 409, description = "client_merged (either record was merged already), merge_too_large",
                  body = ProblemDoc),
              (status = 422, description = "validation_failed (unknown or same duplicate_id)", body = ProblemDoc)),
    security(("bearer" = ["clients:manage"])))]
async fn merge(
    State(state): State<AppState>,
    Auth(principal): Auth,
    RequestOrigin(origin): RequestOrigin,
    Path(client_id): Path<Uuid>,
    Json(request): Json<MergeRequest>,
) -> Result<Json<Client>, ApiError> {
    Ok(Json(
        state
            .app
            .merge_clients(&principal, client_id, &request, &origin)
            .await?,
    ))
}

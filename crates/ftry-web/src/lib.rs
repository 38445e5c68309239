//! The web app: server-rendered pages for the people who run a salon from a
//! browser. Every page calls the same use cases (`ftry_app::App`) as the API,
//! so a business rule lives in one place; the templates are compiled with the
//! binary (askama) and checked by the compiler. Pages sign in with the same
//! httpOnly session cookie as the API's browser mode, and every form that
//! changes something carries the double-submit CSRF token.

mod account;
mod activity;
mod appointment;
mod assets;
mod booking;
mod business;
mod calendar;
mod cash;
mod checkout;
mod clients;
mod dashboard;
mod format;
mod forms;
mod messaging;
mod operator;
mod page;
mod products;
mod public;
mod reports;
mod resources;
mod roles;
mod session;
mod setup;
mod signup;
mod team;
mod webhooks;

use axum::routing::{get, post};
use axum::Router;
use ftry_api::AppState;

/// The web app's routes; `ftry_api::router` serves them beside the API.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(session::home))
        .route("/login", get(session::login_form).post(session::login))
        .route("/logout", post(session::logout))
        .route("/signup", get(signup::form).post(signup::create))
        .route(
            "/invite/accept",
            get(account::invitation).post(account::accept_invitation),
        )
        .route("/password-reset", get(account::reset).post(account::reset_submit))
        .route("/app", get(dashboard::today))
        .route("/app/account", get(account::sessions))
        .route("/app/account/sessions", post(account::end_session))
        .route("/app/calendar", get(calendar::day))
        .route("/app/calendar/week", get(calendar::week))
        .route("/app/appointments/new", get(booking::new))
        .route("/app/appointments", post(booking::create))
        .route("/app/appointments/{id}", get(appointment::show))
        .route("/app/appointments/{id}/{action}", post(appointment::action))
        .route("/app/invoices", post(checkout::walk_in))
        .route("/app/till", get(cash::show).post(cash::close))
        .route("/app/audit", get(activity::audit))
        .route(
            "/app/messaging",
            get(messaging::show).post(messaging::save_settings),
        )
        .route("/app/messaging/wording", post(messaging::save_wording))
        .route("/app/messaging/wording/delete", post(messaging::delete_wording))
        .route("/app/webhooks", get(webhooks::list).post(webhooks::create))
        .route("/app/webhooks/{id}/{action}", post(webhooks::action))
        .route("/app/messages", get(activity::messages))
        .route("/app/invoices/{id}", get(checkout::show))
        .route("/app/invoices/{id}/{action}", post(checkout::action))
        .route("/app/business", get(business::show).post(business::save_settings))
        .route("/app/business/branches", post(business::add_branch))
        .route("/app/business/branches/{id}", post(business::save_branch))
        .route("/app/branch", get(setup::branch))
        .route("/app/branch/hours", post(setup::set_hours))
        .route("/app/branch/closures", post(setup::add_closure))
        .route("/app/branch/rules", post(setup::set_rules))
        .route("/app/branch/closures/remove", post(setup::remove_closure))
        .route("/app/services", get(setup::services).post(setup::add_service))
        .route("/app/services/categories", post(setup::add_category))
        .route("/app/services/{id}", post(setup::change_service))
        .route("/app/staff", get(setup::staff).post(setup::add_staff))
        .route("/app/staff/{id}", post(setup::change_staff))
        .route("/app/staff/{id}/commission", post(setup::set_commission))
        .route("/app/staff/time-off", post(setup::add_time_off))
        .route("/app/staff/time-off/remove", post(setup::remove_time_off))
        .route("/app/team", get(team::team).post(team::invite))
        .route("/app/products", get(products::list).post(products::add))
        .route("/app/products/stock", post(products::move_stock))
        .route("/app/products/{id}", post(products::change))
        .route("/app/team/{id}/unlock", post(team::unlock))
        .route("/app/team/{id}/roles", post(team::set_roles))
        .route("/app/team/{id}/status", post(team::set_status))
        .route("/app/roles", get(roles::list).post(roles::create))
        .route("/app/resources", get(resources::list).post(resources::add))
        .route("/app/resources/{id}", post(resources::change))
        .route("/app/roles/{id}", post(roles::save))
        .route("/app/roles/{id}/delete", post(roles::delete))
        .route("/app/reports/revenue", get(reports::revenue))
        .route("/app/reports/tax", get(reports::tax))
        .route("/app/reports/staff", get(reports::staff))
        .route("/app/reports/appointments", get(reports::appointments))
        .route("/app/clients", get(clients::search))
        .route("/app/clients/{id}", get(clients::profile).post(clients::update))
        .route("/app/clients/{id}/merge", post(clients::merge))
        .route("/app/{*rest}", get(page::not_found))
        .route("/static/{name}", get(assets::serve))
        .route("/platform", get(operator::tenants))
        .route("/platform/login", get(operator::login_form).post(operator::login))
        .route("/platform/logout", post(operator::logout))
        .route("/platform/jobs", get(operator::jobs))
        .route("/platform/jobs/{id}/{action}", post(operator::job_action))
        .route("/platform/tenants/{id}/{action}", post(operator::set_status))
        .route("/b/{token}", get(public::manage))
        .route("/b/{token}/cancel", post(public::cancel))
        .route("/b/{token}/move", post(public::move_booking))
        .route("/{salon}", get(public::salon))
        .route("/{salon}/times", get(public::times))
        .route("/{salon}/details", get(public::details))
        .route("/{salon}/book", post(public::book))
        .layer(axum::middleware::from_fn(page::with_request_id))
}

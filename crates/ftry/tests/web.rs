//! The web app over HTTP: signing in and out with the session cookie and the
//! form's CSRF token, the calendar's day page, its errors as pages, and the
//! fingerprinted static files. The browser journeys are in browser.rs.

mod support;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION, SET_COOKIE};
use serde_json::json;
use support::salon::{day, pune, Salon, Service, Setup};
use support::{body, post, TestApp};

const SERVICES: &[Service] = &[Service::new("Haircut", 45, 60_000)];

fn setup() -> Setup<'static> {
    Setup {
        name: "Kesar Studio",
        stylists: 2,
        categories: &[],
        services: SERVICES,
        chairs: 0,
    }
}

/// `name=value` of each `Set-Cookie` of the response.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect()
}

fn cookie_value(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
        .to_owned()
}

/// The value of the hidden `name` field of a page's form.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The browser's session after signing in through the form: its cookie header
/// and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
    next: &str,
) -> (reqwest::Response, Option<Browser>) {
    let form = app.get(&format!("/login?next={next}")).await;
    assert_eq!(form.status(), 200);
    let form_cookie = cookie_value(&set_cookies(&form), "ftry_form");
    let page = form.text().await.unwrap();
    let csrf = hidden(&page, "csrf");
    assert_eq!(csrf, form_cookie, "the form repeats its cookie");
    let response = app
        .client
        .post(app.url("/login"))
        .header("cookie", format!("ftry_form={form_cookie}"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", &hidden(&page, "next")),
        ])
        .send()
        .await
        .unwrap();
    if response.status() != 303 {
        return (response, None);
    }
    let browser = session_of(&response);
    (response, Some(browser))
}

/// The browser session a response's cookies open (sign-in, sign-up, an accepted invitation).
fn session_of(response: &reqwest::Response) -> Browser {
    let cookies = set_cookies(response);
    Browser {
        cookie: format!(
            "ftry_access={}; ftry_csrf={}",
            cookie_value(&cookies, "ftry_access"),
            cookie_value(&cookies, "ftry_csrf")
        ),
        csrf: cookie_value(&cookies, "ftry_csrf"),
    }
}

async fn page(app: &TestApp, browser: &Browser, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap()
}

async fn html(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()[CONTENT_TYPE].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn signing_in_through_the_form_opens_the_page_asked_for_and_signing_out_ends_the_session() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let business = &salon.business;

    let asked = app.get("/app/calendar?date=2026-12-24").await;
    assert_eq!(asked.status(), 303);
    assert_eq!(
        asked.headers()[LOCATION],
        "/login?next=/app/calendar%3Fdate%3D2026-12-24"
    );

    // A wrong password: the form again, with the reason and the email kept.
    let (wrong, none) = sign_in(
        &app,
        &business.owner_email,
        "not-the-password-at-all",
        "/app/calendar",
    )
    .await;
    assert!(none.is_none());
    let wrong = html(wrong, 401).await;
    assert!(wrong.contains("The email or password is wrong."), "{wrong}");
    assert!(wrong.contains(&format!("value=\"{}\"", business.owner_email)));

    // A form posted without its cookie (another site's form) is refused.
    let forged = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("email", business.owner_email.as_str()),
            ("password", &business.owner_password),
            ("csrf", "forged-token-forged-token"),
        ])
        .send()
        .await
        .unwrap();
    let forged = html(forged, 403).await;
    assert!(forged.contains("This sign-in form had expired."));

    let (signed, browser) = sign_in(
        &app,
        &business.owner_email,
        &business.owner_password,
        "/app/calendar%3Fdate%3D2026-12-24",
    )
    .await;
    assert_eq!(signed.headers()[LOCATION], "/app/calendar?date=2026-12-24");
    let browser = browser.unwrap();
    let calendar = html(page(&app, &browser, "/app/calendar?date=2026-12-24").await, 200).await;
    assert!(calendar.contains("Thursday, 24 December 2026"), "{calendar}");

    // Only pages of the app are followed after signing in.
    let (elsewhere, _) = sign_in(
        &app,
        &business.owner_email,
        &business.owner_password,
        "https://evil.example/",
    )
    .await;
    assert_eq!(elsewhere.headers()[LOCATION], "/app/calendar");

    // Signing out needs the session's CSRF token, ends the session and clears the cookies.
    let refused = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &browser.cookie)
        .form(&[("csrf", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(page(&app, &browser, "/app/calendar").await.status(), 200);
    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &browser.cookie)
        .form(&[("csrf", browser.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()[LOCATION], "/login");
    assert_eq!(
        set_cookies(&out)[..2],
        ["ftry_access=".to_owned(), "ftry_refresh=".to_owned()]
    );
    // The old cookie no longer opens anything.
    let after = page(&app, &browser, "/app/calendar").await;
    assert_eq!(after.status(), 303);
    assert_eq!(after.headers()[LOCATION], "/login?next=/app/calendar");
    app.stop().await;
}

#[tokio::test]
async fn the_day_page_shows_each_stylist_and_their_bookings_in_the_branch_time() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let date = day(3);
    let booked = post(
        &app,
        salon.token(),
        "/api/v1/appointments",
        &json!({
            "location_id": salon.location, "client_id": salon.client, "start": pune(date, 10, 15),
            "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[1]}],
        }),
    )
    .await;
    body(booked, 201).await;
    let (_, browser) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let browser = browser.unwrap();

    let path = format!("/app/calendar?location={}&date={date}", salon.location);
    let page_html = html(page(&app, &browser, &path).await, 200).await;
    assert!(page_html.contains(&date.format("%A, %-d %B %Y").to_string()));
    assert!(
        page_html.contains("</svg> Stylist 0") && page_html.contains("</svg> Stylist 1"),
        "{page_html}"
    );
    // Open 09:00–21:00: 144 five-minute rows; the stylists work all of it;
    // the booking starts on row 15 (10:15) and spans 9 rows (45 minutes).
    assert_eq!(page_html.matches("<div class=\"work r0 s144\"").count(), 2);
    let item = page_html
        .split("<article class=\"item st-booked r15 s9\" data-move=")
        .nth(1)
        .unwrap_or_else(|| panic!("no booking on rows 15–23: {page_html}"));
    let item = item.split("</article>").next().unwrap();
    assert!(item.contains("<time>10:15–11:00</time>"), "{item}");
    assert!(item.contains(">Neha Kulkarni</a></strong>") && item.contains("<span>Haircut</span>"));
    // In Stylist 1's column, not Stylist 0's.
    let columns: Vec<&str> = page_html.split("<section class=\"col\"").skip(1).collect();
    assert_eq!(columns.len(), 2);
    assert!(!columns[0].contains("Neha Kulkarni") && columns[1].contains("Neha Kulkarni"));
    assert!(page_html.contains("1 service booked."));
    assert!(page_html.contains(&format!("date={}\" rel=\"next\"", date.succ_opt().unwrap())));

    // A stylist sees only their own column.
    let (user, _, email) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["stylist"])
        .await;
    let mut db = support::admin(&app).await;
    sqlx::query("UPDATE staff SET user_id = $1 WHERE id = $2")
        .bind(user.parse::<uuid::Uuid>().unwrap())
        .bind(salon.stylists[0])
        .execute(&mut db)
        .await
        .unwrap();
    let (_, stylist) = sign_in(&app, &email, "copper-kettle-monsoon-77", "/app").await;
    let own = html(page(&app, &stylist.unwrap(), &path).await, 200).await;
    assert_eq!(own.matches("<section class=\"col\"").count(), 1);
    // A stylist does not book: no booking links, and the form refuses.
    assert!(!own.contains("New booking") && !own.contains("data-book="));
    assert!(own.contains("</svg> Stylist 0") && !own.contains("Neha Kulkarni"));

    // Bad addresses get a page that says what is wrong.
    let bad_date = html(page(&app, &browser, "/app/calendar?date=24-12-2026").await, 400).await;
    assert!(bad_date.contains("“24-12-2026” is not a date."), "{bad_date}");
    let other_branch = format!("/app/calendar?location={}", uuid::Uuid::now_v7());
    let missing = html(page(&app, &browser, &other_branch).await, 404).await;
    assert!(missing.contains("does not exist, or belongs to another business"));
    let nowhere = html(page(&app, &browser, "/app/no-such-page").await, 404).await;
    assert!(nowhere.contains("There is no page at this address."));
    app.stop().await;
}

#[tokio::test]
async fn static_files_are_fingerprinted_and_cached_for_a_year() {
    let app = TestApp::fresh().await;
    let login = html(app.get("/login").await, 200).await;
    let css = login
        .split("<link rel=\"stylesheet\" href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        css.starts_with("/static/app.")
            && css.ends_with(".css")
            && css.len() == "/static/app.0123456789ab.css".len()
    );
    let first = app.get(&css).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()[CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(
        first.headers()[CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let etag = first.headers()[ETAG].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", &css["/static/app.".len()..css.len() - 4]));
    let text = first.text().await.unwrap();
    assert!(
        text.contains(".r287{grid-row-start:288}")
            && text.contains(".rows144{grid-template-rows:repeat(144,var(--slot))}")
    );
    let again = app
        .client
        .get(app.url(&css))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let stale = html(app.get("/static/app.000000000000.css").await, 404).await;
    assert!(stale.contains("Page not found"));
    // Pages and files, all within the budget of a phone on a slow network.
    assert!(login.len() + text.len() < 100 * 1024);
    app.stop().await;
}

async fn submit(app: &TestApp, browser: &Browser, fields: &impl serde::Serialize) -> reqwest::Response {
    app.client
        .post(app.url("/app/appointments"))
        .header("cookie", &browser.cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

async fn appointments(app: &TestApp) -> i64 {
    support::count(app, "SELECT count(*) FROM appointments", &[]).await
}

#[tokio::test]
async fn the_front_desk_books_from_the_form_and_a_clash_is_shown_next_to_the_time() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let (_, browser) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let browser = browser.unwrap();
    let date = day(2).to_string();
    let (location, haircut) = (salon.location.to_string(), salon.services[0].to_string());
    let stylist = salon.stylists[1].to_string();

    // Opened from a free spot of Stylist 1's column at 10:00.
    let form = html(
        page(
            &app,
            &browser,
            &format!("/app/appointments/new?location={location}&date={date}&time=10:00&staff={stylist}"),
        )
        .await,
        200,
    )
    .await;
    assert!(
        form.contains("name=\"time\" type=\"time\" step=\"300\" value=\"10:00\""),
        "{form}"
    );
    assert!(form.contains(&format!(
        "<option value=\"{stylist}\" selected>Stylist 1</option>"
    )));
    assert!(form.contains(&format!(
        "<option value=\"{haircut}\">Haircut · 45 min · ₹600.00</option>"
    )));
    let key = hidden(&form, "key");

    let fields = |phone: &'static str, name: &'static str, time: &'static str, key: String| {
        vec![
            ("csrf", browser.csrf.clone()),
            ("key", key),
            ("location", location.clone()),
            ("phone", phone.to_owned()),
            ("name", name.to_owned()),
            ("date", date.clone()),
            ("time", time.to_owned()),
            ("service_0", haircut.clone()),
            ("staff_0", stylist.clone()),
        ]
    };

    // A new client (no one has this phone): added and booked.
    let new_client = fields("98220 11223", "Farah Shaikh", "10:00", key.clone());
    let booked = submit(&app, &browser, &new_client).await;
    assert_eq!(booked.status(), 303);
    assert_eq!(
        booked.headers()[LOCATION],
        format!("/app/calendar?location={location}&date={date}").as_str()
    );
    assert_eq!(appointments(&app).await, 1);
    // The same form sent twice (a double click) books once.
    let again = submit(&app, &browser, &new_client).await;
    assert_eq!(again.status(), 303);
    assert_eq!(appointments(&app).await, 1);
    let day_page = html(
        page(&app, &browser, booked.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(day_page.contains(">Farah Shaikh</a></strong>") && day_page.contains("<time>10:00–10:45</time>"));

    // The returning client is found by phone (any format); Stylist 1 is taken at 10:30.
    let clash = fields("+919812345678", "", "10:30", "second-form-key".into());
    let refused = submit(&app, &browser, &clash).await;
    let refused = html(refused, 409).await;
    assert!(
        refused.contains(
            "<p class=\"field-error\" id=\"time-error\">Service 1: the staff member is not free then.</p>"
        ),
        "{refused}"
    );
    assert!(refused.contains("value=\"+919812345678\"") && refused.contains("value=\"10:30\""));
    assert_eq!(appointments(&app).await, 1);
    // Someone new at a taken time: neither the booking nor the client is kept.
    let new_and_refused = fields("98220 99887", "Imran Khan", "10:15", "fourth-form-key".into());
    assert_eq!(submit(&app, &browser, &new_and_refused).await.status(), 409);
    assert_eq!(support::count(&app, "SELECT count(*) FROM clients", &[]).await, 2);
    // At 11:00 it goes through, for Neha (the existing client), not a new one.
    let later = fields("+919812345678", "", "11:00", "third-form-key".into());
    let booked = submit(&app, &browser, &later).await;
    assert_eq!(booked.status(), 303);
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM appointments WHERE client_id = $1::uuid",
            &[&salon.client.to_string()]
        )
        .await,
        1
    );
    assert_eq!(support::count(&app, "SELECT count(*) FROM clients", &[]).await, 2);

    // Nothing chosen: each missing part named at its field.
    let empty = submit(
        &app,
        &browser,
        &[
            ("csrf", browser.csrf.as_str()),
            ("key", "k"),
            ("location", location.as_str()),
            ("date", ""),
            ("time", ""),
        ],
    )
    .await;
    let empty = html(empty, 422).await;
    for (field, message) in [
        (
            "phone",
            "Enter the client&#39;s phone number, or a name for a walk-in.",
        ),
        ("date", "Pick a date."),
        ("time", "Pick a start time."),
        ("service_0", "Pick at least one service."),
    ] {
        assert!(
            empty.contains(&format!("id=\"{field}-error\">{message}</p>")),
            "{field}: {empty}"
        );
    }
    // A phone number nobody has, and no name.
    let unknown = submit(
        &app,
        &browser,
        &fields("98220 55555", "", "12:00", "fifth-form-key".into()),
    )
    .await;
    let unknown = html(unknown, 422).await;
    assert!(
        unknown.contains("id=\"name-error\">No client has this phone number: enter a name to add them.</p>"),
        "{unknown}"
    );
    // A form from elsewhere (no CSRF token) books nothing.
    let forged = submit(&app, &browser, &[("csrf", "x"), ("location", location.as_str())]).await;
    assert!(html(forged, 403).await.contains("The form had expired."));
    assert_eq!(appointments(&app).await, 2);
    app.stop().await;
}

#[tokio::test]
async fn an_appointment_page_moves_checks_in_and_cancels_with_a_reason() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let date = day(2);
    let book = |hour: u32| {
        json!({
            "location_id": salon.location, "client_id": salon.client, "start": pune(date, hour, 0),
            "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
        })
    };
    let first = body(
        post(&app, salon.token(), "/api/v1/appointments", &book(10)).await,
        201,
    )
    .await;
    body(
        post(&app, salon.token(), "/api/v1/appointments", &book(14)).await,
        201,
    )
    .await;
    let id = first["id"].as_str().unwrap().to_owned();
    let (_, browser) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let browser = browser.unwrap();
    let page_path = format!("/app/appointments/{id}");

    let day_page = html(
        page(&app, &browser, &format!("/app/calendar?date={date}")).await,
        200,
    )
    .await;
    assert!(day_page.contains(&format!("<a href=\"{page_path}\">Neha Kulkarni</a>")));
    let shown = html(page(&app, &browser, &page_path).await, 200).await;
    assert!(
        shown.contains(&format!(
            "<h1><a href=\"/app/clients/{}\">Neha Kulkarni</a> <span class=\"badge st-booked\">Booked</span></h1>",
            salon.client
        )),
        "{shown}"
    );
    assert!(shown.contains(&format!("{}, 10:00–10:45", date.format("%A, %-d %B %Y"))));
    assert!(shown
        .contains("<td>Haircut</td><td>Stylist 0</td><td>10:00–10:45</td><td class=\"num\">₹600.00</td>"));
    for label in [
        "Confirm",
        "Check in",
        "No-show",
        "Move to this time",
        "Cancel the appointment",
    ] {
        assert!(shown.contains(&format!(">{label}</button>")), "{label}");
    }
    let action = |path: &str, fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf", browser.csrf.clone()));
        app.client
            .post(app.url(&format!("{page_path}/{path}")))
            .header("cookie", &browser.cookie)
            .form(&fields)
            .send()
    };
    let starts_at = || async {
        support::count(
            &app,
            "SELECT extract(epoch FROM starts_at)::bigint FROM appointments WHERE id = $1::uuid",
            &[&id],
        )
        .await
    };

    // Moved to 12:00 (the branch's time), then refused at 14:15: Stylist 0 is busy 14:00–14:45.
    let moved = action("move", vec![("date", date.to_string()), ("time", "12:00".into())])
        .await
        .unwrap();
    assert_eq!(
        (moved.status(), moved.headers()[LOCATION].to_str().unwrap()),
        (reqwest::StatusCode::SEE_OTHER, page_path.as_str())
    );
    assert_eq!(starts_at().await, pune(date, 12, 0).timestamp());
    let clash = action("move", vec![("date", date.to_string()), ("time", "14:15".into())])
        .await
        .unwrap();
    let clash = html(clash, 409).await;
    assert!(
        clash.contains("<p class=\"error\" role=\"alert\" id=\"move-error\">Service 1: the staff member is not free then.</p>"),
        "{clash}"
    );
    assert!(clash.contains("value=\"14:15\""));
    assert_eq!(starts_at().await, pune(date, 12, 0).timestamp());

    // Checked in: it can start or complete, and no longer moves.
    let checked = action("status", vec![("status", "checked_in".into())])
        .await
        .unwrap();
    assert_eq!(checked.status(), 303);
    let shown = html(page(&app, &browser, &page_path).await, 200).await;
    assert!(shown.contains("<span class=\"badge st-checked_in\">Checked in</span>"));
    assert!(shown.contains(">Start service</button>") && shown.contains(">Complete</button>"));
    assert!(!shown.contains("Move to this time") && !shown.contains(">Check in</button>"));
    // Going back is refused by the use case, and said where the buttons are.
    let back = html(
        action("status", vec![("status", "booked".into())]).await.unwrap(),
        409,
    )
    .await;
    assert!(
        back.contains(
            "id=\"status-error\">An appointment that is checked_in cannot become booked; \
             next can be: in_service, completed, cancelled.</p>"
        ),
        "{back}"
    );

    // A cancellation needs its reason.
    let no_reason = html(
        action("cancel", vec![("reason", "  ".into())]).await.unwrap(),
        422,
    )
    .await;
    assert!(
        no_reason.contains("id=\"cancel-error\">The reason must not be empty.</p>"),
        "{no_reason}"
    );
    let cancelled = action("cancel", vec![("reason", "Client unwell".into())])
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 303);
    let shown = html(page(&app, &browser, &page_path).await, 200).await;
    assert!(shown.contains("<span class=\"badge st-cancelled\">Cancelled</span>"));
    assert!(shown.contains("Cancelled: Client unwell"));
    assert_eq!(
        shown.matches("<button").count(),
        1,
        "nothing follows a cancellation but signing out: {shown}"
    );
    // Its history, oldest first: what happened and by whom.
    let history: Vec<String> = shown
        .split("<ol class=\"history\" id=\"history\">")
        .nth(1)
        .and_then(|rest| rest.split("</ol>").next())
        .unwrap_or_else(|| panic!("no history: {shown}"))
        .split("<li>")
        .skip(1)
        .map(|li| {
            let li = li.split("</li>").next().unwrap();
            li.split(" · ").nth(1).unwrap().to_owned()
        })
        .collect();
    let statuses: Vec<String> = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar(
            "SELECT kind || ':' || COALESCE(to_status, '') FROM appointment_events
              WHERE appointment_id = $1::uuid ORDER BY at, id",
        )
        .bind(page_path.trim_start_matches("/app/appointments/"))
        .fetch_all(&mut db)
        .await
        .unwrap()
    };
    assert_eq!(history.len(), statuses.len(), "{history:?} {statuses:?}");
    assert_eq!(history.first().map(String::as_str), Some("Booked"));
    assert_eq!(history.last().map(String::as_str), Some("Cancelled"));
    assert!(
        history.iter().any(|h| h == "Moved") && history.iter().any(|h| h == "Checked in"),
        "{history:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_salon_booking_pages_answer_people_in_html_and_programs_in_problems() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let slug = &salon.business.slug;
    let as_browser = |path: String| {
        app.client
            .get(app.url(&path))
            .header("accept", "text/html")
            .send()
    };

    let services = html(as_browser(format!("/{slug}")).await.unwrap(), 200).await;
    assert!(services.contains("<h1>Kesar Studio</h1>"));
    assert!(services.contains(&format!("value=\"{}\">", salon.services[0])));
    assert!(services.contains("45 min · ₹600.00"));
    let none_picked = html(
        as_browser(format!("/{slug}/times?location={}", salon.location))
            .await
            .unwrap(),
        422,
    )
    .await;
    assert!(none_picked.contains("Pick at least one service."));

    // An unknown salon: a page for a browser, the API's problem for a program.
    let page_404 = html(as_browser("/no-such-salon".into()).await.unwrap(), 404).await;
    assert!(page_404.contains("There is no salon or booking at this address."));
    let problem = app.get("/no-such-salon").await;
    assert_eq!(problem.status(), 404);
    assert_eq!(problem.headers()[CONTENT_TYPE], "application/problem+json");

    // Booking: a wrong phone number is named at its field; then booked once, however often sent.
    let start = pune(day(1), 10, 0).to_rfc3339();
    let form = |phone: &str| {
        vec![
            ("location", salon.location.to_string()),
            ("s", salon.services[0].to_string()),
            ("staff", String::new()),
            ("start", start.clone()),
            ("key", "public-form-key-1".to_owned()),
            ("name", "Kavya Iyer".to_owned()),
            ("phone", phone.to_owned()),
            ("email", String::new()),
        ]
    };
    let post_form = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(app.url(&format!("/{slug}/book")))
            .header("accept", "text/html")
            .form(&fields)
            .send()
    };
    let wrong = html(post_form(form("12345")).await.unwrap(), 422).await;
    assert!(wrong.contains("id=\"phone-error\">"), "{wrong}");
    assert!(wrong.contains("value=\"Kavya Iyer\""));
    let booked = post_form(form("+91 98450 12345")).await.unwrap();
    assert_eq!(booked.status(), 303);
    let first_link = booked.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(first_link.starts_with("/b/"), "{first_link}");
    // Sent again (a double tap): the same booking, under a fresh private link.
    let again = post_form(form("+91 98450 12345")).await.unwrap();
    assert_eq!(again.status(), 303);
    let link = again.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(link.starts_with("/b/") && link != first_link, "{link}");
    assert_eq!(appointments(&app).await, 1);
    let mine = html(as_browser(link.clone()).await.unwrap(), 200).await;
    assert!(mine.contains("<span class=\"badge st-booked\">Booked</span>"));
    assert!(mine.contains(&format!("{} at 10:00", day(1).format("%A, %-d %B %Y"))));
    assert!(mine.contains("<td>Haircut</td>") && mine.contains("₹600.00"));
    // Someone else's link (a wrong token) shows nothing.
    let guessed = html(as_browser("/b/not-a-real-token".into()).await.unwrap(), 404).await;
    assert!(!guessed.contains("Haircut"));
    app.stop().await;
}

/// A walk-in's haircut by `staff`, invoiced and finalized today through the API.
async fn haircut_sold(app: &TestApp, salon: &Salon, staff: uuid::Uuid) {
    let token = salon.token();
    let draft = body(
        post(
            app,
            token,
            "/api/v1/invoices",
            &json!({"location_id": salon.location, "customer": {"name": "Walk-in"}}),
        )
        .await,
        201,
    )
    .await;
    let id = draft["id"].as_str().unwrap();
    let line = json!({"kind": "service", "service_id": salon.services[0], "staff_id": staff});
    body(
        post(app, token, &format!("/api/v1/invoices/{id}/lines"), &line).await,
        201,
    )
    .await;
    let finalized = support::send(
        app,
        token,
        reqwest::Method::POST,
        &format!("/api/v1/invoices/{id}/finalize"),
        None,
    )
    .await;
    assert_eq!(body(finalized, 200).await["status"], "finalized");
}

#[tokio::test]
async fn the_revenue_report_shows_its_figures_and_chart_to_those_who_may_see_revenue() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    haircut_sold(&app, &salon, salon.stylists[0]).await;
    haircut_sold(&app, &salon, salon.stylists[1]).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();

    // Two haircuts of ₹600.00 from a branch without a GSTIN: bills of supply, no GST.
    let by_staff = html(page(&app, &owner, "/app/reports/revenue?by=staff").await, 200).await;
    assert!(
        by_staff.contains("<a href=\"/app/reports/revenue\">Revenue</a>"),
        "the owner's navigation has it"
    );
    assert!(by_staff.contains("Total ₹1,200.00, tax included."), "{by_staff}");
    for stylist in ["Stylist 0", "Stylist 1"] {
        assert!(by_staff.contains(&format!(
            "<th scope=\"row\">{stylist}</th><td class=\"num\">1</td><td class=\"num\">₹600.00</td>\
             <td class=\"num\">₹0.00</td><td class=\"num\">₹600.00</td>"
        )));
    }
    // Equal takings, equal bars across the whole width.
    assert_eq!(by_staff.matches("width=\"720.0\"").count(), 2);
    let today = support::salon::today_in_pune();
    let month_start = today.format("%Y-%m-01").to_string();
    assert!(by_staff.contains(&format!(
        "href=\"/api/v1/reports/revenue?location_id={}&#38;from={month_start}&#38;to={today}&#38;group=staff&#38;format=csv\"",
        salon.location
    )), "{by_staff}");
    // The link works with the page's own session cookie.
    let csv = page(
        &app,
        &owner,
        &format!(
            "/api/v1/reports/revenue?location_id={}&from={month_start}&to={today}&group=staff&format=csv",
            salon.location
        ),
    )
    .await;
    assert_eq!(csv.status(), 200);
    assert_eq!(csv.headers()[CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        csv.text().await.unwrap().lines().count(),
        3,
        "a header and a line per stylist"
    );
    let by_day = html(page(&app, &owner, "/app/reports/revenue?by=day").await, 200).await;
    assert!(by_day.contains("Total ₹1,200.00 from 2 documents, tax included."));
    // One day: one column, 80% of the width and the full height.
    assert!(
        by_day.contains("<rect x=\"72.0\" y=\"0.0\" width=\"576.0\" height=\"160.0\""),
        "{by_day}"
    );
    let bad = html(
        page(&app, &owner, "/app/reports/revenue?from=yesterday").await,
        400,
    )
    .await;
    assert!(bad.contains("“yesterday” is not a date."));

    // The reception desk neither sees the link nor opens the report.
    let (_, _, email) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;
    let (_, desk) = sign_in(&app, &email, "copper-kettle-monsoon-77", "/app").await;
    let desk = desk.unwrap();
    let calendar = html(page(&app, &desk, "/app/calendar").await, 200).await;
    assert!(!calendar.contains("/app/reports/revenue"));
    let refused = html(page(&app, &desk, "/app/reports/revenue").await, 403).await;
    assert!(
        refused.contains("<h1>Not allowed</h1>") && !refused.contains("₹"),
        "{refused}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_day_at_a_glance_counts_visits_arrivals_and_each_stylists_booked_share() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let date = day(1);
    let book = |hour: u32, staff: usize| {
        json!({
            "location_id": salon.location, "client_id": salon.client, "start": pune(date, hour, 0),
            "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[staff]}],
        })
    };
    let first = body(
        post(&app, salon.token(), "/api/v1/appointments", &book(10, 0)).await,
        201,
    )
    .await;
    body(
        post(&app, salon.token(), "/api/v1/appointments", &book(12, 0)).await,
        201,
    )
    .await;
    body(
        post(&app, salon.token(), "/api/v1/appointments", &book(10, 1)).await,
        201,
    )
    .await;
    let id = first["id"].as_str().unwrap();
    let status = json!({"status": "checked_in"});
    body(
        post(
            &app,
            salon.token(),
            &format!("/api/v1/appointments/{id}/status"),
            &status,
        )
        .await,
        200,
    )
    .await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();

    let glance = html(page(&app, &owner, &format!("/app?date={date}")).await, 200).await;
    for (id, figure) in [
        ("visits", "3"),
        ("waiting", "1"),
        ("completed", "0"),
        ("no-shows", "0"),
        ("revenue", "₹0.00"),
    ] {
        assert!(
            glance.contains(&format!("id=\"{id}\">{figure}</span>")),
            "{id}: {glance}"
        );
    }
    // 09:00–21:00 is 720 minutes: two haircuts (90) are 12%, one (45) is 6%.
    assert!(glance.contains(
        "<th scope=\"row\">Stylist 0</th><td class=\"num\">2</td><td class=\"num\">12%</td><td>10:00 Neha Kulkarni</td>"
    ), "{glance}");
    assert!(glance.contains(
        "<th scope=\"row\">Stylist 1</th><td class=\"num\">1</td><td class=\"num\">6%</td><td>10:00 Neha Kulkarni</td>"
    ));
    // Without `reports:revenue`, no takings.
    let (_, _, email) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;
    let (_, desk) = sign_in(&app, &email, "copper-kettle-monsoon-77", "/app").await;
    let desk_glance = html(
        page(&app, &desk.unwrap(), &format!("/app?date={date}")).await,
        200,
    )
    .await;
    assert!(desk_glance.contains("id=\"visits\">3</span>") && !desk_glance.contains("id=\"revenue\""));
    app.stop().await;
}

#[tokio::test]
async fn clients_are_found_by_name_or_phone_and_their_profile_shows_their_visits() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let other = Salon::create(
        &app,
        Setup {
            name: "Other Studio",
            ..setup()
        },
    )
    .await;
    let visit = json!({
        "location_id": salon.location, "client_id": salon.client, "start": pune(day(3), 16, 0),
        "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
    });
    body(
        post(&app, salon.token(), "/api/v1/appointments", &visit).await,
        201,
    )
    .await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let row = format!(
        "<tr><td><a href=\"/app/clients/{}\">Neha Kulkarni</a></td><td>+919812345678</td></tr>",
        salon.client
    );

    for query in ["nEh", "98123%2045678", "%2B919812345678"] {
        let found = html(page(&app, &owner, &format!("/app/clients?q={query}")).await, 200).await;
        assert!(found.contains(&row), "{query}: {found}");
    }
    let nobody = html(page(&app, &owner, "/app/clients?q=zzz").await, 200).await;
    assert!(nobody.contains("Nobody matches “zzz”."));

    let profile = html(
        page(&app, &owner, &format!("/app/clients/{}", salon.client)).await,
        200,
    )
    .await;
    assert!(
        profile.contains("<dt>Phone</dt><dd>+919812345678</dd>"),
        "{profile}"
    );
    assert!(profile.contains("0 completed, 0 no-shows, 0 cancelled."));
    assert!(profile.contains(&format!(
        "{}, 16:00</a> · Haircut · ₹600.00",
        day(3).format("%a %-d %b %Y")
    )));
    // Another business's client is not there at all.
    let theirs = html(
        page(&app, &owner, &format!("/app/clients/{}", other.client)).await,
        404,
    )
    .await;
    assert!(!theirs.contains("Neha"));
    app.stop().await;
}

/// A form of the sign-up page, sent with the page's own CSRF cookie.
async fn sign_up(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let form = app.get("/signup").await;
    assert_eq!(form.status(), 200);
    let raw: Vec<String> = form
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        raw.iter()
            .any(|c| c.starts_with("ftry_form=") && c.contains("Path=/signup")),
        "{raw:?}"
    );
    let form_cookie = cookie_value(&set_cookies(&form), "ftry_form");
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let mut fields = fields.to_vec();
    fields.push(("csrf", &csrf));
    app.client
        .post(app.url("/signup"))
        .header("cookie", format!("ftry_form={form_cookie}"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

const GSTIN: &str = "27AAACR5055K1Z7";

/// A business signed up through the form (with a GSTIN, so its invoices
/// charge GST) and its owner's browser session.
async fn signed_up(app: &TestApp, slug: &str) -> Browser {
    let created = sign_up(
        app,
        &[
            ("business_name", "Chandan Beauty Lounge"),
            ("slug", slug),
            ("branch", "Baner"),
            ("state_code", "27"),
            ("gstin", GSTIN),
            ("owner_name", "Meera Joshi"),
            ("email", &format!("meera@{slug}.example.com")),
            ("phone", ""),
            ("password", "tamarind-lotus-veranda-19"),
        ],
    )
    .await;
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()[LOCATION], "/app/branch");
    session_of(&created)
}

async fn send_form(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = fields.to_vec();
    fields.push(("csrf", &browser.csrf));
    app.client
        .post(app.url(path))
        .header("cookie", &browser.cookie)
        .form(&fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn signing_up_through_the_form_creates_the_business_and_signs_its_owner_in() {
    let app = TestApp::fresh().await;
    let tenants = || support::count(&app, "SELECT count(*) FROM tenants", &[]);

    // Refused: each message next to its field, what was typed kept, nothing created.
    let refused = sign_up(
        &app,
        &[
            ("business_name", "Chandan Beauty Lounge"),
            ("slug", "chandan"),
            ("branch", "Baner"),
            ("state_code", ""),
            ("owner_name", "Meera Joshi"),
            ("email", "meera@example.com"),
            ("password", "short"),
        ],
    )
    .await;
    let refused = html(refused, 422).await;
    assert!(
        refused.contains(
            "id=\"state_code-error\">Must be a two-digit GST state code, e.g. 27 for Maharashtra.</p>"
        ),
        "{refused}"
    );
    assert!(refused.contains("id=\"password-error\">"), "{refused}");
    assert!(refused.contains("name=\"business_name\" type=\"text\" value=\"Chandan Beauty Lounge\""));
    assert!(
        !refused.contains("value=\"short\""),
        "the password is never sent back"
    );
    assert_eq!(tenants().await, 0);

    // Without the form's CSRF token: refused.
    let forged = app
        .client
        .post(app.url("/signup"))
        .form(&[("business_name", "Forged"), ("csrf", "0123456789abcdef0123")])
        .send()
        .await
        .unwrap();
    let forged = html(forged, 403).await;
    assert!(forged.contains("This form had expired."));

    // Created: the owner is signed in and taken to set the salon up.
    let owner = signed_up(&app, "chandan").await;
    assert_eq!(tenants().await, 1);
    let services = html(page(&app, &owner, "/app/services").await, 200).await;
    assert!(services.contains("No services yet."), "{services}");
    assert!(services.contains("<a href=\"/app/staff\">Staff</a>"));
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM locations WHERE gstin = $1 AND state_code = '27'",
            &[GSTIN]
        )
        .await,
        1
    );

    // The short name is taken now: said next to it.
    let taken = sign_up(
        &app,
        &[
            ("business_name", "Another Lounge"),
            ("slug", "chandan"),
            ("branch", "Aundh"),
            ("state_code", "27"),
            ("owner_name", "Ravi Rao"),
            ("email", "ravi@example.com"),
            ("password", "tamarind-lotus-veranda-19"),
        ],
    )
    .await;
    let taken = html(taken, 409).await;
    assert!(
        taken.contains("id=\"slug-error\">The address `chandan` is taken; choose another slug.</p>"),
        "{taken}"
    );
    assert_eq!(tenants().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn services_and_staff_are_added_from_the_setup_pages_and_a_refusal_adds_nothing() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-setup").await;

    let bad_price = send_form(
        &app,
        &owner,
        "/app/services",
        &[
            ("name", "Haircut"),
            ("minutes", "45"),
            ("price", "6,50.x"),
            ("tax_code", "999721"),
            ("online", "yes"),
        ],
    )
    .await;
    let bad_price = html(bad_price, 422).await;
    assert!(bad_price.contains("id=\"price-error\">Enter the price in rupees, e.g. 650 or 650.50.</p>"));
    assert!(bad_price.contains("name=\"minutes\" type=\"number\" value=\"45\""));
    let too_long = send_form(
        &app,
        &owner,
        "/app/services",
        &[
            ("name", "Haircut"),
            ("minutes", "800"),
            ("price", "650"),
            ("tax_code", "999721"),
        ],
    )
    .await;
    let too_long = html(too_long, 422).await;
    assert!(too_long.contains("id=\"minutes-error\">"), "{too_long}");
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM services", &[]).await,
        0
    );

    let added = send_form(
        &app,
        &owner,
        "/app/services",
        &[
            ("name", "Haircut"),
            ("minutes", "45"),
            ("price", "650"),
            ("tax_code", "999721"),
            ("online", "yes"),
        ],
    )
    .await;
    assert_eq!(added.status(), 303);
    assert_eq!(added.headers()[LOCATION], "/app/services?added=Haircut");
    let services = html(page(&app, &owner, "/app/services?added=Haircut").await, 200).await;
    assert!(services.contains("Added “Haircut”."));
    // GST on hairdressing is 5% since 22 September 2025.
    assert!(
        services.contains("<tr><td>Haircut</td><td class=\"num\">45</td><td class=\"num\">₹650.00</td><td>999721 · GST 5%</td><td>Yes</td><td><a href=\"/app/services?change="),
        "{services}"
    );
    let haircut = support::count(&app, "SELECT count(*) FROM services WHERE name = 'Haircut' AND price_paise = 65000 AND duration_minutes = 45 AND online_bookable", &[]).await;
    assert_eq!(haircut, 1);

    let staff_form = html(page(&app, &owner, "/app/staff").await, 200).await;
    let location = hidden(&staff_form, "location");
    let service_id = staff_form
        .split("name=\"service\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let member = |break_from: &'static str| {
        vec![
            ("location", location.clone()),
            ("name", "Kavya Nair".to_owned()),
            ("title", "Senior Stylist".to_owned()),
            ("service", service_id.clone()),
            ("day", "1".into()),
            ("day", "2".into()),
            ("day", "3".into()),
            ("day", "4".into()),
            ("day", "5".into()),
            ("day", "6".into()),
            ("from", "10:00".into()),
            ("to", "19:00".into()),
            ("break_from", break_from.into()),
            ("break_to", "20:30".into()),
        ]
    };
    let fields = |m: &Vec<(&'static str, String)>| m.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let outside = fields(&member("20:00"));
    let outside: Vec<(&str, &str)> = outside.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = html(send_form(&app, &owner, "/app/staff", &outside).await, 422).await;
    assert!(refused.contains("id=\"break_from-error\">"), "{refused}");
    assert!(
        refused.contains("name=\"name\" type=\"text\" value=\"Kavya Nair\""),
        "{refused}"
    );
    // Neither the person nor their services were kept.
    assert_eq!(support::count(&app, "SELECT count(*) FROM staff", &[]).await, 0);
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM staff_services", &[]).await,
        0
    );

    let mut good = fields(&member("14:00"));
    good.retain(|(k, _)| *k != "break_to");
    good.push(("break_to", "14:30".into()));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let added = send_form(&app, &owner, "/app/staff", &good).await;
    assert_eq!(added.status(), 303);
    let listed = html(
        page(&app, &owner, added.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(listed.contains("Added Kavya Nair."));
    assert!(
        listed.contains("<tr><td>Kavya Nair <span class=\"muted\">· Senior Stylist</span></td><td>Haircut</td><td>Mon–Sat 10:00–19:00 (break 14:00–14:30)</td>"),
        "{listed}"
    );
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM staff_hours WHERE kind = 'work' AND starts = 600 AND ends = 1140",
            &[]
        )
        .await,
        6
    );
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM staff_services", &[]).await,
        1
    );

    // Changed later: the form shows what is stored.
    let kavya: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM staff")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    assert!(
        listed.contains(&format!("change={kavya}#staff-form\">Change</a>")),
        "{listed}"
    );
    let change = html(
        page(
            &app,
            &owner,
            &format!("/app/staff?location={location}&change={kavya}"),
        )
        .await,
        200,
    )
    .await;
    assert!(change.contains("<h2>Change Kavya Nair</h2>"), "{change}");
    assert!(change.contains(&format!("action=\"/app/staff/{kavya}\"")));
    assert!(
        change.contains("name=\"day\" value=\"6\" checked") && change.contains("name=\"day\" value=\"7\">")
    );
    assert!(change.contains("name=\"break_from\" type=\"time\" value=\"14:00\""));
    assert!(change.contains(&format!("name=\"service\" value=\"{service_id}\" checked")));
    assert!(change.contains("name=\"active\" value=\"yes\" checked"));
    assert!(!change.contains("id=\"uneven\""), "one span every day: {change}");
    // Saturdays end an hour early: the form, which sets one span for all, says so.
    support::count(
        &app,
        "WITH changed AS (UPDATE staff_hours SET ends = 1080 WHERE weekday = 6 AND kind = 'work' RETURNING 1)
         SELECT count(*) FROM changed",
        &[],
    )
    .await;
    let uneven = html(
        page(
            &app,
            &owner,
            &format!("/app/staff?location={location}&change={kavya}"),
        )
        .await,
        200,
    )
    .await;
    assert!(
        uneven.contains("id=\"uneven\">Their week has different hours on different days"),
        "{uneven}"
    );
    let week = |name: &'static str, active: bool| {
        let mut fields = vec![
            ("location", location.clone()),
            ("name", name.to_owned()),
            ("title", "Senior Stylist".to_owned()),
            ("service", service_id.clone()),
            ("from", "11:00".to_owned()),
            ("to", "20:00".to_owned()),
            ("break_from", String::new()),
            ("break_to", String::new()),
        ];
        fields.extend((1..=7).map(|d| ("day", d.to_string())));
        if active {
            fields.push(("active", "yes".to_owned()));
        }
        fields
    };
    let path = format!("/app/staff/{kavya}");
    let nameless = week("", true);
    let nameless: Vec<(&str, &str)> = nameless.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = html(send_form(&app, &owner, &path, &nameless).await, 422).await;
    assert!(refused.contains("id=\"name-error\">"), "{refused}");
    assert!(
        refused.contains("name=\"from\" type=\"time\" value=\"11:00\""),
        "what was typed is kept"
    );
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM staff_hours WHERE kind = 'work' AND starts = 600",
            &[]
        )
        .await,
        6,
        "nothing changed"
    );
    let every_day = week("Kavya Nair", true);
    let every_day: Vec<(&str, &str)> = every_day.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let saved = send_form(&app, &owner, &path, &every_day).await;
    assert_eq!(saved.status(), 303);
    let listed = html(
        page(&app, &owner, saved.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(
        listed.contains("Saved: Kavya Nair&#39;s services and week.")
            || listed.contains("Saved: Kavya Nair&#x27;s services and week."),
        "{listed}"
    );
    assert!(listed.contains("<td>Mon–Sun 11:00–20:00</td>"), "{listed}");
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM staff_hours WHERE kind = 'work' AND starts = 660 AND ends = 1200",
            &[]
        )
        .await,
        7
    );
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM staff_hours WHERE kind = 'break'", &[]).await,
        0
    );
    // Her commission: 12.5% on services, 5% on products.
    let commission = send_form(
        &app,
        &owner,
        &format!("/app/staff/{kavya}/commission"),
        &[("location", &location), ("services", "12.5"), ("products", "5%")],
    )
    .await;
    assert_eq!(commission.status(), 303);
    let shown = html(
        page(&app, &owner, commission.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(shown.contains("Commission saved: the staff report counts it from now on."));
    assert!(
        shown.contains("name=\"services\" type=\"text\" value=\"12.5\""),
        "{shown}"
    );
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM staff WHERE service_commission_bp = 1250 AND product_commission_bp = 500",
            &[]
        )
        .await,
        1
    );
    let too_much = send_form(
        &app,
        &owner,
        &format!("/app/staff/{kavya}/commission"),
        &[("location", &location), ("services", "120"), ("products", "5")],
    )
    .await;
    assert_eq!(too_much.status(), 422);

    // She leaves: no longer takes clients.
    let leaves = week("Kavya Nair", false);
    let leaves: Vec<(&str, &str)> = leaves.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(send_form(&app, &owner, &path, &leaves).await.status(), 303);
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM staff WHERE NOT active", &[]).await,
        1
    );
    app.stop().await;
}

/// A salon set up through its pages: opening hours every day 10:00–20:00,
/// a ₹650 haircut and one stylist; returns the branch and the ids.
async fn set_up_through_the_pages(app: &TestApp, owner: &Browser) -> (String, String, String) {
    let branch = html(page(app, owner, "/app/branch").await, 200).await;
    assert!(branch.contains("No opening hours yet: nothing can be booked here until they are saved."));
    let location = hidden(&branch, "location");
    let mut hours = vec![("location".to_owned(), location.clone())];
    for day in 1..=7 {
        hours.push((format!("open_{day}"), "yes".into()));
        hours.push((format!("from_{day}"), "10:00".into()));
        hours.push((format!("to_{day}"), "20:00".into()));
    }
    let hours: Vec<(&str, &str)> = hours.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = send_form(app, owner, "/app/branch/hours", &hours).await;
    assert_eq!(saved.status(), 303);
    let added = send_form(
        app,
        owner,
        "/app/services",
        &[
            ("name", "Haircut"),
            ("minutes", "45"),
            ("price", "650"),
            ("tax_code", "999721"),
            ("online", "yes"),
        ],
    )
    .await;
    assert_eq!(added.status(), 303);
    let staff_form = html(page(app, owner, "/app/staff").await, 200).await;
    let service = staff_form
        .split("name=\"service\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let mut member = vec![
        ("location", location.as_str()),
        ("name", "Kavya Nair"),
        ("service", service.as_str()),
        ("from", "10:00"),
        ("to", "20:00"),
    ];
    for day in ["1", "2", "3", "4", "5", "6", "7"] {
        member.push(("day", day));
    }
    assert_eq!(send_form(app, owner, "/app/staff", &member).await.status(), 303);
    let staff: uuid::Uuid = {
        let mut db = support::admin(app).await;
        sqlx::query_scalar("SELECT id FROM staff WHERE name = 'Kavya Nair'")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    (location, service, staff.to_string())
}

#[tokio::test]
async fn a_visit_is_checked_out_with_a_tip_paid_in_two_parts_and_its_pdf_opens() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-checkout").await;
    let (location, service, staff) = set_up_through_the_pages(&app, &owner).await;
    let branch = html(page(&app, &owner, "/app/branch").await, 200).await;
    assert!(
        branch.contains("<dt>GSTIN</dt><dd>27AAACR5055K1Z7</dd>"),
        "{branch}"
    );
    assert!(branch.contains("name=\"from_7\" value=\"10:00\""));

    let date = day(1).to_string();
    let form = html(page(&app, &owner, "/app/appointments/new").await, 200).await;
    let booked = send_form(
        &app,
        &owner,
        "/app/appointments",
        &[
            ("key", &hidden(&form, "key")),
            ("location", &location),
            ("phone", "98220 44556"),
            ("name", "Ishita Kapoor"),
            ("date", &date),
            ("time", "11:00"),
            ("service_0", &service),
            ("staff_0", &staff),
        ],
    )
    .await;
    assert_eq!(booked.status(), 303, "{}", booked.text().await.unwrap());
    let appointment: uuid::Uuid = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id FROM appointments")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    let shown = html(
        page(&app, &owner, &format!("/app/appointments/{appointment}")).await,
        200,
    )
    .await;
    assert!(shown.contains(">Check out</button>"), "{shown}");

    // Check out: the visit's service becomes the draft's line.
    let checkout = format!("/app/appointments/{appointment}/checkout");
    let started = send_form(&app, &owner, &checkout, &[]).await;
    assert_eq!(started.status(), 303);
    let invoice_path = started.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(invoice_path.starts_with("/app/invoices/"));
    // Twice: the same invoice, not a second one.
    let again = send_form(&app, &owner, &checkout, &[]).await;
    assert_eq!(again.headers()[LOCATION].to_str().unwrap(), invoice_path);
    let draft = html(page(&app, &owner, &invoice_path).await, 200).await;
    assert!(draft.contains("<h1>Draft invoice"), "{draft}");
    // Prices include GST (the business's default): of ₹650 at 5%, CGST and
    // SGST are ₹15.48 each (650 × 2.5 / 105, rounded), the taxable value the rest.
    assert!(
        draft.contains("<tr><td>Haircut</td><td>Kavya Nair</td><td class=\"num\">1</td><td class=\"num\">₹650.00</td><td class=\"num\"></td><td class=\"num\">₹619.04</td><td class=\"num\">₹30.96 (5%)</td><td class=\"num\">₹650.00</td><td><form method=\"post\" action=\"/app/invoices/"),
        "{draft}"
    );
    assert!(draft.contains("<th scope=\"row\">CGST</th><td class=\"num\">₹15.48</td>"));
    assert!(draft.contains("<th scope=\"row\">SGST</th><td class=\"num\">₹15.48</td>"));
    assert!(draft.contains("id=\"grand-total\">₹650.00</td>"), "{draft}");

    // A tip that is not an amount is refused next to the tip; then ₹50 for Kavya.
    let bad_tip = send_form(
        &app,
        &owner,
        &format!("{invoice_path}/adjust"),
        &[("tip", "fifty")],
    )
    .await;
    let bad_tip = html(bad_tip, 422).await;
    assert!(bad_tip.contains("id=\"tip-error\">Enter the tip in rupees, e.g. 50.</p>"));
    let tipped = send_form(
        &app,
        &owner,
        &format!("{invoice_path}/adjust"),
        &[
            ("discount", ""),
            ("discount_kind", "rupees"),
            ("tip", "50"),
            ("tip_staff", &staff),
        ],
    )
    .await;
    assert_eq!(tipped.status(), 303);
    let draft = html(page(&app, &owner, &invoice_path).await, 200).await;
    assert!(
        draft.contains("<th scope=\"row\">Tip</th><td class=\"num\">₹50.00</td>"),
        "{draft}"
    );
    assert!(draft.contains("id=\"grand-total\">₹700.00</td>"), "{draft}");
    // Payment waits for the invoice to be final.
    assert!(!draft.contains("/pay\""));

    let finalized = send_form(&app, &owner, &format!("{invoice_path}/finalize"), &[]).await;
    assert_eq!(finalized.status(), 303);
    let invoice = html(page(&app, &owner, &invoice_path).await, 200).await;
    let number: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT number FROM invoices")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    assert!(invoice.contains(&format!("<h1>Invoice {number} <span class=\"badge\">Finalized</span> <span class=\"badge pay-false\">Unpaid</span>")), "{invoice}");
    assert!(invoice.contains("id=\"due\">₹700.00</td>"));
    assert!(invoice.contains("name=\"amount\" type=\"text\" value=\"700\""));

    // More than is due: refused at the amount; nothing recorded.
    let too_much = send_form(
        &app,
        &owner,
        &format!("{invoice_path}/pay"),
        &[("method", "upi"), ("amount", "800")],
    )
    .await;
    let too_much = html(too_much, 422).await;
    assert!(too_much.contains("id=\"amount-error\">"), "{too_much}");
    assert!(too_much.contains("name=\"amount\" type=\"text\" value=\"800\""));
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM payments", &[]).await,
        0
    );

    // Split: ₹500 in cash, the rest by UPI.
    let cash = send_form(
        &app,
        &owner,
        &format!("{invoice_path}/pay"),
        &[("method", "cash"), ("amount", "500")],
    )
    .await;
    assert_eq!(cash.status(), 303);
    let part = html(page(&app, &owner, &invoice_path).await, 200).await;
    assert!(part.contains("<span class=\"badge pay-false\">Part paid</span>"));
    assert!(
        part.contains("id=\"due\">₹200.00</td>") && part.contains("value=\"200\""),
        "{part}"
    );
    let upi = send_form(
        &app,
        &owner,
        &format!("{invoice_path}/pay"),
        &[("method", "upi"), ("amount", "200"), ("reference", "UPI-4471")],
    )
    .await;
    assert_eq!(upi.status(), 303);
    let paid = html(page(&app, &owner, &invoice_path).await, 200).await;
    assert!(
        paid.contains("<span class=\"badge pay-true\">Paid</span>"),
        "{paid}"
    );
    assert!(paid.contains("id=\"paid\">₹700.00</td>") && paid.contains("id=\"due\">₹0.00</td>"));
    assert!(
        paid.contains("<td>Cash</td><td></td><td class=\"num\">₹500.00</td>"),
        "{paid}"
    );
    assert!(
        paid.contains("<td>UPI</td><td>UPI-4471</td><td class=\"num\">₹200.00</td>"),
        "{paid}"
    );
    assert!(!paid.contains("/pay\""), "nothing more to pay");
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM payments WHERE amount_paise IN (50000, 20000)",
            &[]
        )
        .await,
        2
    );

    // The PDF opens with the page's own cookie.
    let pdf = page(
        &app,
        &owner,
        &format!("/api/v1/invoices/{}/pdf", &invoice_path["/app/invoices/".len()..]),
    )
    .await;
    assert_eq!(pdf.status(), 200);
    assert_eq!(pdf.headers()[CONTENT_TYPE], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));

    // A credit note needs a reason; with one, it credits the whole invoice and is refunded.
    let credit = format!("{invoice_path}/credit");
    let no_reason = html(send_form(&app, &owner, &credit, &[("reason", " ")]).await, 422).await;
    assert!(no_reason.contains("id=\"reason-error\">"), "{no_reason}");
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM invoices", &[]).await,
        1
    );
    let credited = send_form(&app, &owner, &credit, &[("reason", "Charged twice by mistake")]).await;
    assert_eq!(credited.status(), 303);
    let note_path = credited.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_ne!(note_path, invoice_path);
    let note = html(page(&app, &owner, &note_path).await, 200).await;
    assert!(note.contains("<h1>Credit note "), "{note}");
    assert!(note.contains(&format!(
        "Credits <a href=\"{invoice_path}\">the original invoice</a>."
    )));
    assert!(note.contains("<h2>Refunds</h2>") && note.contains(">Record the refund</button>"));
    let to_refund = note
        .split("To refund</th><td class=\"num\" id=\"due\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    // The lines (the haircut): the tip is no supply and is not credited.
    assert_eq!(to_refund, "₹650.00");
    let refunded = send_form(
        &app,
        &owner,
        &format!("{note_path}/pay"),
        &[("method", "cash"), ("amount", "650")],
    )
    .await;
    assert_eq!(refunded.status(), 303);
    let note = html(page(&app, &owner, &note_path).await, 200).await;
    assert!(note.contains("id=\"due\">₹0.00</td>"), "{note}");
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM payments WHERE kind = 'refund' AND amount_paise = 65000",
            &[]
        )
        .await,
        1
    );

    // The appointment now links to its invoice.
    let shown = html(
        page(&app, &owner, &format!("/app/appointments/{appointment}")).await,
        200,
    )
    .await;
    assert!(shown.contains(&format!(
        "<a class=\"button\" href=\"{invoice_path}\">Open the invoice</a>"
    )));
    app.stop().await;
}

#[tokio::test]
async fn a_failure_shows_a_page_with_the_reference_of_the_request_and_never_its_cause() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    // The staff table gone from under the service: the page's query fails.
    let mut db = support::admin(&app).await;
    sqlx::query("ALTER TABLE staff RENAME TO staff_away")
        .execute(&mut db)
        .await
        .unwrap();
    let failed = app
        .client
        .get(app.url("/app/staff"))
        .header("cookie", &owner.cookie)
        .header("x-request-id", "desk-7f3a91")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.headers()["x-request-id"], "desk-7f3a91");
    let failed = html(failed, 500).await;
    assert!(failed.contains("<h1>Something went wrong</h1>"), "{failed}");
    assert!(
        failed.contains("give this reference to whoever runs ftry for you: desk-7f3a91"),
        "{failed}"
    );
    assert!(
        !failed.contains("staff") && !failed.contains("relation"),
        "{failed}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_walk_in_sale_starts_from_the_day_and_takes_services_and_products() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let shampoo = body(
        post(
            &app,
            salon.token(),
            "/api/v1/products",
            &json!({"sku": "SH-200", "name": "Argan shampoo 200 ml", "hsn_code": "3305", "price_paise": 45_000}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let today = html(page(&app, &owner, "/app").await, 200).await;
    assert!(today.contains("<h2>Walk-in sale</h2>"));
    let location = salon.location.to_string();
    let started = send_form(
        &app,
        &owner,
        "/app/invoices",
        &[("location", &location), ("name", "Zoya Mirza"), ("phone", "")],
    )
    .await;
    assert_eq!(started.status(), 303);
    let path = started.headers()[LOCATION].to_str().unwrap().to_owned();
    let empty = html(page(&app, &owner, &path).await, 200).await;
    assert!(empty.contains("<p class=\"when\">Zoya Mirza</p>"), "{empty}");
    assert!(empty.contains("Nothing on this invoice yet: add a service or a product below."));
    assert!(empty.contains(&format!(
        "<option value=\"service:{}\">Haircut · ₹600.00</option>",
        salon.services[0]
    )));
    assert!(empty.contains(&format!(
        "<option value=\"product:{shampoo}\">Argan shampoo 200 ml · ₹450.00</option>"
    )));

    let line = format!("{path}/line");
    let nothing = html(
        send_form(&app, &owner, &line, &[("item", ""), ("quantity", "1")]).await,
        422,
    )
    .await;
    assert!(nothing.contains("id=\"item-error\">Pick a service or a product.</p>"));
    let stylist = salon.stylists[0].to_string();
    let haircut = format!("service:{}", salon.services[0]);
    let added = send_form(
        &app,
        &owner,
        &line,
        &[("item", &haircut), ("quantity", "1"), ("staff", &stylist)],
    )
    .await;
    assert_eq!(added.status(), 303);
    let two = format!("product:{shampoo}");
    let added = send_form(
        &app,
        &owner,
        &line,
        &[("item", &two), ("quantity", "2"), ("staff", "")],
    )
    .await;
    assert_eq!(added.status(), 303);
    let draft = html(page(&app, &owner, &path).await, 200).await;
    // The branch has no GSTIN: a bill of supply, without GST.
    assert!(
        draft.contains(
            "<tr><td>Haircut</td><td>Stylist 0</td><td class=\"num\">1</td><td class=\"num\">₹600.00</td>"
        ),
        "{draft}"
    );
    assert!(draft.contains("<tr><td>Argan shampoo 200 ml</td><td></td><td class=\"num\">2</td><td class=\"num\">₹450.00</td>"), "{draft}");
    assert!(!draft.contains(">CGST<"));
    assert!(draft.contains("id=\"grand-total\">₹1,500.00</td>"), "{draft}");
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM invoice_lines", &[]).await,
        2
    );

    // A line added by mistake is removed from the draft.
    let wrong = send_form(
        &app,
        &owner,
        &line,
        &[("item", &two), ("quantity", "1"), ("staff", "")],
    )
    .await;
    assert_eq!(wrong.status(), 303);
    let three = html(page(&app, &owner, &path).await, 200).await;
    assert!(three.contains("name=\"position\" value=\"2\""), "{three}");
    assert!(three.contains("aria-label=\"Remove Argan shampoo 200 ml\""));
    let removed = send_form(&app, &owner, &format!("{path}/remove"), &[("position", "2")]).await;
    assert_eq!(removed.status(), 303);
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM invoice_lines", &[]).await,
        2
    );
    let missing = send_form(&app, &owner, &format!("{path}/remove"), &[("position", "7")]).await;
    assert_eq!(missing.status(), 404);

    // Sold from stock, then one shampoo comes back: a credit note of that
    // quantity only, the shampoo back on the shelf.
    body(
        post(
            &app,
            salon.token(),
            &format!("/api/v1/locations/{location}/stock/movements"),
            &json!({"product_id": shampoo, "kind": "purchase", "quantity": 5}),
        )
        .await,
        201,
    )
    .await;
    let shelf = [shampoo.as_str()];
    let stock = || {
        support::count(
            &app,
            "SELECT quantity::bigint FROM stock_levels WHERE product_id = $1::uuid",
            &shelf,
        )
    };
    assert_eq!(
        send_form(&app, &owner, &format!("{path}/finalize"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(stock().await, 3);
    let issued = html(page(&app, &owner, &path).await, 200).await;
    assert!(
        issued.contains("id=\"credit_0\" name=\"credit_0\" min=\"0\" max=\"1\" step=\"1\" value=\"1\""),
        "{issued}"
    );
    assert!(issued.contains("id=\"credit_1\" name=\"credit_1\" min=\"0\" max=\"2\" step=\"1\" value=\"2\""));
    assert!(issued.contains("Put the credited products back in stock"));
    let credit = format!("{path}/credit");
    let none = html(
        send_form(
            &app,
            &owner,
            &credit,
            &[("credit_0", "0"), ("credit_1", "0"), ("reason", "Returned")],
        )
        .await,
        422,
    )
    .await;
    assert!(
        none.contains("id=\"credit_lines-error\">Enter how many of at least one item to credit.</p>"),
        "{none}"
    );
    let too_many = html(
        send_form(
            &app,
            &owner,
            &credit,
            &[("credit_0", "0"), ("credit_1", "3"), ("reason", "Returned")],
        )
        .await,
        422,
    )
    .await;
    assert!(
        too_many.contains("id=\"credit_1-error\">Must be 1 to 2, what is left to credit.</p>"),
        "{too_many}"
    );
    assert!(
        too_many.contains("name=\"credit_1\" min=\"0\" max=\"2\" step=\"1\" value=\"3\""),
        "what was typed is kept"
    );
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM invoices", &[]).await,
        1
    );
    let credited = send_form(
        &app,
        &owner,
        &credit,
        &[
            ("credit_0", "0"),
            ("credit_1", "1"),
            ("restock", "yes"),
            ("reason", "Unopened, returned"),
        ],
    )
    .await;
    assert_eq!(credited.status(), 303);
    let note_path = credited.headers()[LOCATION].to_str().unwrap().to_owned();
    let note = html(page(&app, &owner, &note_path).await, 200).await;
    assert!(note.contains("<tr><td>Argan shampoo 200 ml</td><td></td><td class=\"num\">1</td><td class=\"num\">₹450.00</td>"), "{note}");
    assert!(!note.contains("<td>Haircut</td>"));
    assert!(note.contains("id=\"grand-total\">₹450.00</td>"));
    assert_eq!(stock().await, 4);

    // The invoice lists its credit note and offers what is left: the haircut
    // and the other shampoo.
    let after = html(page(&app, &owner, &path).await, 200).await;
    assert!(
        after.contains(&format!("<li><a href=\"{note_path}\">")),
        "{after}"
    );
    assert!(
        after.contains("name=\"credit_1\" min=\"0\" max=\"1\" step=\"1\" value=\"1\""),
        "{after}"
    );
    let rest = send_form(
        &app,
        &owner,
        &credit,
        &[
            ("credit_0", "1"),
            ("credit_1", "1"),
            ("reason", "Closing the sale"),
        ],
    )
    .await;
    assert_eq!(rest.status(), 303);
    let done = html(page(&app, &owner, &path).await, 200).await;
    assert!(
        done.contains("Everything on this invoice has been credited."),
        "{done}"
    );
    assert_eq!(stock().await, 4, "not put back when not asked");
    app.stop().await;
}

#[tokio::test]
async fn a_client_moves_their_booking_from_its_private_link_to_a_free_time_of_the_same_stylist() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let slug = &salon.business.slug;
    let stylist = salon.stylists[0];
    let fields = vec![
        ("location", salon.location.to_string()),
        ("s", salon.services[0].to_string()),
        ("staff", stylist.to_string()),
        ("start", pune(day(2), 10, 0).to_rfc3339()),
        ("key", "public-move-key-1".to_owned()),
        ("name", "Tara Menon".to_owned()),
        ("phone", "+91 98450 22334".to_owned()),
        ("email", String::new()),
    ];
    let booked = app
        .client
        .post(app.url(&format!("/{slug}/book")))
        .header("accept", "text/html")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(booked.status(), 303);
    let link = booked.headers()[LOCATION].to_str().unwrap().to_owned();
    // The same stylist is busy 12:00–12:45 the day after.
    body(
        post(
            &app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location, "client_id": salon.client, "start": pune(day(3), 12, 0),
                "items": [{"service_id": salon.services[0], "staff_id": stylist}],
            }),
        )
        .await,
        201,
    )
    .await;
    let get = |path: String| {
        app.client
            .get(app.url(&path))
            .header("accept", "text/html")
            .send()
    };

    let mine = html(get(link.clone()).await.unwrap(), 200).await;
    assert!(mine.contains("<h2 id=\"move\">Move to another time</h2>"));
    assert!(mine.contains(&format!("href=\"{link}?date={}#move\"", day(3))));
    let day3 = html(get(format!("{link}?date={}", day(3))).await.unwrap(), 200).await;
    let offered = |hour: u32, minute: u32| {
        day3.contains(&format!(
            "name=\"start\" value=\"{}\">{hour:02}:{minute:02}</button>",
            pune(day(3), hour, minute).to_rfc3339()
        ))
    };
    assert!(offered(11, 15) && offered(12, 45) && offered(14, 0), "{day3}");
    assert!(!offered(11, 30) && !offered(12, 0) && !offered(12, 30));

    let move_to = |hour: u32| {
        let start = pune(day(3), hour, 0).to_rfc3339();
        app.client
            .post(app.url(&format!("{link}/move")))
            .header("accept", "text/html")
            .form(&[("start", start)])
            .send()
    };
    let moved = move_to(14).await.unwrap();
    assert_eq!(moved.status(), 303);
    assert_eq!(
        moved.headers()[LOCATION].to_str().unwrap(),
        format!("{link}?moved")
    );
    let now = html(get(format!("{link}?moved")).await.unwrap(), 200).await;
    assert!(now.contains("Moved. The new time is above."));
    assert!(
        now.contains(&format!("{} at 14:00", day(3).format("%A, %-d %B %Y"))),
        "{now}"
    );

    // A taken time (sent by hand: it is not offered) is refused and nothing moves.
    let refused = html(move_to(12).await.unwrap(), 409).await;
    assert!(refused.contains("not free then"), "{refused}");
    let starts = support::count(
        &app,
        "SELECT count(*) FROM appointments WHERE starts_at = $1::timestamptz",
        &[&pune(day(3), 14, 0).to_rfc3339()],
    )
    .await;
    assert_eq!(starts, 1);
    app.stop().await;
}

/// A signed-out form of `path` sent with that page's own CSRF cookie.
async fn signed_out_form(
    app: &TestApp,
    page_path: &str,
    post_path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let shown = app.get(page_path).await;
    assert_eq!(shown.status(), 200);
    let form_cookie = cookie_value(&set_cookies(&shown), "ftry_form");
    let csrf = hidden(&shown.text().await.unwrap(), "csrf");
    let mut fields = fields.to_vec();
    fields.push(("csrf", &csrf));
    app.client
        .post(app.url(post_path))
        .header("cookie", format!("ftry_form={form_cookie}"))
        .form(&fields)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_links_of_invitation_and_reset_emails_open_pages_that_set_the_password() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let tenant = &salon.business.tenant_id;
    let email = "ritu.sharma@example.com";
    let invited = post(
        &app,
        salon.token(),
        "/api/v1/users/invitations",
        &json!({"email": email, "name": "Ritu Sharma", "roles": ["receptionist"]}),
    )
    .await;
    assert_eq!(invited.status(), 201);
    let token = app.outbox_token(tenant, email, "/invite/accept?token=").await;
    let link = format!("/invite/accept?token={token}");
    let shown = html(app.get(&link).await, 200).await;
    assert!(shown.contains("<h1>Join your team on ftry</h1>"));
    assert_eq!(hidden(&shown, "token"), token);

    // Two different passwords, then a weak one: said on the page; the link still works.
    let differ = signed_out_form(
        &app,
        &link,
        "/invite/accept",
        &[
            ("token", &token),
            ("password", "lemon-grass-tiger-81"),
            ("repeat", "lemon-grass-tiger-18"),
        ],
    )
    .await;
    let differ = html(differ, 422).await;
    assert!(differ.contains("The two passwords differ; type the same one twice."));
    let weak = signed_out_form(
        &app,
        &link,
        "/invite/accept",
        &[
            ("token", &token),
            ("password", "short-pass"),
            ("repeat", "short-pass"),
        ],
    )
    .await;
    let weak = html(weak, 422).await;
    assert!(weak.contains("id=\"password-error\">The password "), "{weak}");
    let accepted = signed_out_form(
        &app,
        &link,
        "/invite/accept",
        &[
            ("token", &token),
            ("password", "lemon-grass-tiger-81"),
            ("repeat", "lemon-grass-tiger-81"),
        ],
    )
    .await;
    assert_eq!(accepted.status(), 303);
    assert_eq!(accepted.headers()[LOCATION], "/app");
    let member = session_of(&accepted);
    let today = html(page(&app, &member, "/app").await, 200).await;
    assert!(today.contains("<h1>Today"), "{today}");
    // The link is used up.
    let again = signed_out_form(
        &app,
        &link,
        "/invite/accept",
        &[
            ("token", &token),
            ("password", "lemon-grass-tiger-81"),
            ("repeat", "lemon-grass-tiger-81"),
        ],
    )
    .await;
    let again = html(again, 409).await;
    assert!(again.contains("This link is invalid, expired or already used; ask for a new one."));

    // Forgotten: the same answer for an unknown email as for a known one.
    let login = html(app.get("/login").await, 200).await;
    assert!(login.contains("<a href=\"/password-reset\">Forgot your password?</a>"));
    for asked in ["nobody@example.com", email] {
        let sent = signed_out_form(
            &app,
            "/password-reset",
            "/password-reset",
            &[("email", asked), ("business", "")],
        )
        .await;
        let sent = html(sent, 200).await;
        assert!(sent.contains(&format!(
            "If an account signs in with {asked}, a link to choose a new password is on its way."
        )));
    }
    let token = app.outbox_token(tenant, email, "/password-reset?token=").await;
    let link = format!("/password-reset?token={token}");
    let shown = html(app.get(&link).await, 200).await;
    assert!(shown.contains("<h1>Choose a new password</h1>"));
    let changed = signed_out_form(
        &app,
        &link,
        "/password-reset",
        &[
            ("token", &token),
            ("password", "monsoon-cedar-violin-63"),
            ("repeat", "monsoon-cedar-violin-63"),
        ],
    )
    .await;
    assert_eq!(changed.status(), 303);
    assert_eq!(changed.headers()[LOCATION], "/login?reset=done");
    let notice = html(app.get("/login?reset=done").await, 200).await;
    assert!(notice.contains("Your password was changed. Sign in with the new one."));
    // Every session of the account ended; the new password signs in, the old one not.
    assert_eq!(page(&app, &member, "/app").await.status(), 303);
    let (old, none) = sign_in(&app, email, "lemon-grass-tiger-81", "/app").await;
    assert!(none.is_none());
    assert_eq!(old.status(), 401);
    let (_, signed) = sign_in(&app, email, "monsoon-cedar-violin-63", "/app").await;
    assert!(signed.is_some());
    app.stop().await;
}

#[tokio::test]
async fn a_client_is_edited_from_the_profile_and_a_duplicate_is_merged_into_it() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let kept = support::salon::add_client(&app, &salon, "Pooja Hegde", "+919820011111").await;
    let duplicate = support::salon::add_client(&app, &salon, "Pooja Hegde", "+919820022222").await;
    // The duplicate's visit, to see it move.
    body(
        post(
            &app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location, "client_id": duplicate, "start": pune(day(2), 10, 0),
                "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
            }),
        )
        .await,
        201,
    )
    .await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let path = format!("/app/clients/{kept}");
    let profile = html(page(&app, &owner, &path).await, 200).await;
    assert!(
        profile.contains("name=\"phone\" type=\"tel\" value=\"+919820011111\""),
        "{profile}"
    );
    assert!(profile.contains(&format!(
        "name=\"duplicate\" value=\"{duplicate}\"> Pooja Hegde · +919820022222"
    )));

    let fields = |email: &'static str, channel: &'static str, language: &'static str| {
        vec![
            ("name", "Pooja Hegde"),
            ("phone", "+91 98200 11111"),
            ("email", email),
            ("tags", "VIP, bridal"),
            ("allergies", "Ammonia"),
            ("consent_notes", "Patch test 1 Dec"),
            ("notes", "Prefers the window chair"),
            ("marketing", "yes"),
            ("consent_channel", channel),
            ("language", language),
        ]
    };
    // A wrong email, a consent without how it was given and a language that
    // is not a code: each said at its field.
    let bad = html(
        send_form(&app, &owner, &path, &fields("pooja-at-example", "", "Marathi")).await,
        422,
    )
    .await;
    assert!(bad.contains("id=\"email-error\">"), "{bad}");
    assert!(
        bad.contains("id=\"language-error\">Must be a language code such as hi, mr, en or pt-BR"),
        "{bad}"
    );
    assert!(
        bad.contains("id=\"consent_channel-error\">Required when marketing_consent is true"),
        "{bad}"
    );
    assert!(bad.contains("name=\"allergies\" type=\"text\" value=\"Ammonia\""));
    let saved = send_form(
        &app,
        &owner,
        &path,
        &fields("pooja@example.com", "in_person", "mr"),
    )
    .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM clients WHERE id = $1::uuid AND language = 'mr'",
            &[&kept.to_string()]
        )
        .await,
        1
    );
    assert_eq!(
        saved.headers()[LOCATION].to_str().unwrap(),
        format!("{path}?done=saved")
    );
    let profile = html(page(&app, &owner, &format!("{path}?done=saved")).await, 200).await;
    assert!(profile.contains("<p class=\"done\" role=\"status\">Saved.</p>"));
    assert!(
        profile.contains("<dt>Email</dt><dd>pooja@example.com</dd>"),
        "{profile}"
    );
    // Tags are kept in lower case.
    assert!(profile.contains("<dt>Tags</dt><dd>vip, bridal</dd>"), "{profile}");
    assert!(profile.contains("<dt>Allergies</dt><dd class=\"warn\">Ammonia</dd>"));
    assert!(profile.contains("<dt>Marketing</dt><dd>Agreed</dd>"));

    let nothing = html(send_form(&app, &owner, &format!("{path}/merge"), &[]).await, 422).await;
    assert!(nothing.contains("id=\"duplicate-error\">Pick the other record of this person.</p>"));
    let merged = send_form(
        &app,
        &owner,
        &format!("{path}/merge"),
        &[("duplicate", &duplicate.to_string())],
    )
    .await;
    assert_eq!(merged.status(), 303);
    let profile = html(page(&app, &owner, &format!("{path}?done=merged")).await, 200).await;
    assert!(profile.contains("Merged: the other record"));
    // The duplicate's visit is this client's now, and it is no longer offered to merge.
    assert!(
        profile.contains(&format!("{}, 10:00", day(2).format("%a %-d %b %Y"))),
        "{profile}"
    );
    assert!(!profile.contains("name=\"duplicate\""));
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM appointments WHERE client_id = $1::uuid",
            &[&kept.to_string()]
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_day_lists_the_visits_that_may_be_missed_and_why() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let book = |client: uuid::Uuid, date: chrono::NaiveDate, hour: u32| {
        let request = json!({
            "location_id": salon.location, "client_id": client, "start": pune(date, hour, 0),
            "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
        });
        let app = &app;
        let token = salon.token().to_owned();
        async move {
            body(post(app, &token, "/api/v1/appointments", &request).await, 201).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let often_away = support::salon::add_client(&app, &salon, "Sameer Khan", "+919811100001").await;
    let regular = support::salon::add_client(&app, &salon, "Lata Pillai", "+919811100002").await;
    // Sameer's record: four visits a month ago, two of them missed.
    let mut db = support::admin(&app).await;
    for (n, status) in ["no_show", "completed", "no_show", "completed"]
        .iter()
        .enumerate()
    {
        let id = book(often_away, day(3), 9 + n as u32).await;
        sqlx::query(
            "UPDATE appointments SET status = $2, starts_at = starts_at - interval '33 days',
                    ends_at = ends_at - interval '33 days' WHERE id = $1::uuid",
        )
        .bind(&id)
        .bind(status)
        .execute(&mut db)
        .await
        .unwrap();
    }
    let sameer = book(often_away, day(1), 11).await;
    book(regular, day(1), 13).await;
    // A first-time client books online.
    let slug = &salon.business.slug;
    let online = app
        .client
        .post(app.url(&format!("/{slug}/book")))
        .header("accept", "text/html")
        .form(&[
            ("location", salon.location.to_string()),
            ("s", salon.services[0].to_string()),
            ("staff", salon.stylists[1].to_string()),
            ("start", pune(day(1), 12, 0).to_rfc3339()),
            ("key", "risk-online-1".to_owned()),
            ("name", "Irfan Ali".to_owned()),
            ("phone", "+91 98111 00003".to_owned()),
            ("email", String::new()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(online.status(), 303);

    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let today = html(page(&app, &owner, "/app").await, 200).await;
    let risks = today
        .split("<ul class=\"visits\" id=\"risks\">")
        .nth(1)
        .and_then(|rest| rest.split("</ul>").next())
        .unwrap_or_else(|| panic!("no risks in {today}"));
    let lines: Vec<&str> = risks.split("<li>").skip(1).collect();
    assert_eq!(lines.len(), 2, "{risks}");
    let tomorrow = day(1).format("%a").to_string();
    assert!(
        lines[0].starts_with(&format!(
            "<span class=\"badge risk-high\">high</span> {tomorrow} 11:00 · <a href=\"/app/appointments/{sameer}\">Sameer Khan</a> · Missed 2 of 4 visits; not confirmed"
        )),
        "{risks}"
    );
    assert!(
        lines[1].contains(&format!("{tomorrow} 12:00 · <a href="))
            && lines[1].contains(">Irfan Ali</a> · First visit, booked online; not confirmed"),
        "{risks}"
    );
    assert!(!risks.contains("Lata Pillai"));

    // Confirmed, Sameer is less likely to miss it; Irfan, confirmed, drops off.
    sqlx::query("UPDATE appointments SET status = 'confirmed' WHERE starts_at > now()")
        .execute(&mut db)
        .await
        .unwrap();
    let today = html(page(&app, &owner, "/app").await, 200).await;
    assert!(today.contains("Missed 2 of 4 visits; confirmed") && today.contains("risk-medium"));
    assert!(!today.contains("Irfan Ali"));
    app.stop().await;
}

#[tokio::test]
async fn the_gst_staff_and_appointment_reports_show_the_figures_of_the_api() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    // A registered branch: its invoices charge GST.
    let mut db = support::admin(&app).await;
    sqlx::query("UPDATE locations SET gstin = $1")
        .bind(GSTIN)
        .execute(&mut db)
        .await
        .unwrap();
    haircut_sold(&app, &salon, salon.stylists[0]).await;
    haircut_sold(&app, &salon, salon.stylists[0]).await;
    haircut_sold(&app, &salon, salon.stylists[1]).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();

    // ₹600 with GST included at 5%: CGST and SGST ₹14.29 each (600 × 2.5 / 105),
    // taxable ₹571.42; three haircuts to walk-in customers are B2C, in Maharashtra.
    let tax = html(page(&app, &owner, "/app/reports/tax").await, 200).await;
    assert!(tax.contains("Taxable value ₹1,714.26, GST ₹85.74."), "{tax}");
    assert!(
        tax.contains("<tr><td>27 Maharashtra</td><td class=\"num\">5%</td><td class=\"num\">₹1,714.26</td><td class=\"num\">₹42.87</td><td class=\"num\">₹42.87</td><td class=\"num\">₹0.00</td></tr>"),
        "{tax}"
    );
    assert!(
        tax.contains("<tr><td>999721</td>")
            && tax.contains(
                "<td class=\"num\">3</td><td class=\"num\">₹1,714.26</td><td class=\"num\">₹85.74</td></tr>"
            ),
        "{tax}"
    );
    assert!(
        tax.contains("<h2>B2B: invoices to registered businesses") && tax.contains("None in this period.")
    );

    let staff = html(page(&app, &owner, "/app/reports/staff").await, 200).await;
    assert!(
        staff.contains("<tr><th scope=\"row\">Stylist 0</th><td class=\"num\">₹1,142.84</td><td class=\"num\">₹0.00</td>"),
        "{staff}"
    );
    assert!(staff.contains("<tr><th scope=\"row\">Stylist 1</th><td class=\"num\">₹571.42</td>"));
    // Stylist 0 sold twice what Stylist 1 did: a full bar and a half one.
    assert!(
        staff.contains("width=\"720.0\"") && staff.contains("width=\"360.0\""),
        "{staff}"
    );

    // Appointments tomorrow: one booked, one cancelled.
    let tomorrow = day(1);
    for hour in [10, 12] {
        let booked = body(
            post(
                &app,
                salon.token(),
                "/api/v1/appointments",
                &json!({
                    "location_id": salon.location, "client_id": salon.client, "start": pune(tomorrow, hour, 0),
                    "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[1]}],
                }),
            )
            .await,
            201,
        )
        .await;
        if hour == 12 {
            let id = booked["id"].as_str().unwrap();
            body(
                post(
                    &app,
                    salon.token(),
                    &format!("/api/v1/appointments/{id}/cancel"),
                    &json!({"reason": "Unwell"}),
                )
                .await,
                200,
            )
            .await;
        }
    }
    let month_start = support::salon::today_in_pune().format("%Y-%m-01").to_string();
    let query = format!("location={}&from={month_start}&to={tomorrow}", salon.location);
    let stats = html(
        page(&app, &owner, &format!("/app/reports/appointments?{query}")).await,
        200,
    )
    .await;
    let api = body(
        support::get(
            &app,
            salon.token(),
            &format!(
                "/api/v1/reports/appointments?location_id={}&from={month_start}&to={tomorrow}",
                salon.location
            ),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        (api["booked"].as_i64(), api["cancelled"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(
        stats.contains("<li class=\"tile\"><span class=\"figure\">1</span> Booked</li>"),
        "{stats}"
    );
    assert!(stats.contains("<li class=\"tile\"><span class=\"figure\">1</span> Cancelled</li>"));
    assert!(
        stats.contains(&format!(
            "<span class=\"figure\">{}</span> new clients, {} returning",
            api["new_clients"], api["returning_clients"]
        )),
        "{stats}"
    );

    // The reception desk sees none of the money reports.
    let (_, _, email) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;
    let (_, desk) = sign_in(&app, &email, "copper-kettle-monsoon-77", "/app").await;
    let desk = desk.unwrap();
    for report in ["/app/reports/tax", "/app/reports/staff"] {
        let refused = html(page(&app, &desk, report).await, 403).await;
        assert!(refused.contains("<h1>Not allowed</h1>"), "{refused}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_account_page_lists_where_one_is_signed_in_and_signs_another_device_out() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let email = &salon.business.owner_email;
    let password = &salon.business.owner_password;
    let (_, desk) = sign_in(&app, email, password, "/app").await;
    let (_, phone) = sign_in(&app, email, password, "/app").await;
    let (desk, phone) = (desk.unwrap(), phone.unwrap());
    let account = html(page(&app, &desk, "/app/account").await, 200).await;
    let rows = account.matches("<tr>\n        <td>").count();
    // The sign-up's session (the API's) and the two browsers.
    assert_eq!(rows, 3, "{account}");
    assert_eq!(account.matches("<strong>This device</strong>").count(), 1);
    assert_eq!(
        account.matches(">Sign out</button>\n          </form>").count(),
        2
    );
    // The phone's session is the newest; sign it out from the desk.
    let sessions: Vec<String> = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM sessions WHERE revoked_at IS NULL ORDER BY created_at DESC")
            .fetch_all(&mut db)
            .await
            .unwrap()
    };
    let ended = send_form(&app, &desk, "/app/account/sessions", &[("session", &sessions[0])]).await;
    assert_eq!(ended.status(), 303);
    assert_eq!(ended.headers()[LOCATION], "/app/account?ended");
    let account = html(page(&app, &desk, "/app/account?ended").await, 200).await;
    assert!(account.contains("That device is signed out."));
    assert_eq!(account.matches("<tr>\n        <td>").count(), 2);
    assert_eq!(
        page(&app, &phone, "/app").await.status(),
        303,
        "the phone must sign in again"
    );
    assert_eq!(page(&app, &desk, "/app").await.status(), 200);
    // Another person's session is not theirs to end.
    let foreign = send_form(
        &app,
        &desk,
        "/app/account/sessions",
        &[("session", &uuid::Uuid::now_v7().to_string())],
    )
    .await;
    assert_eq!(foreign.status(), 404);
    // Everywhere, this device too.
    let (_, tablet) = sign_in(&app, email, password, "/app").await;
    let tablet = tablet.unwrap();
    let everywhere = send_form(&app, &desk, "/app/account/sessions", &[("session", "all")]).await;
    assert_eq!(everywhere.headers()[LOCATION], "/login");
    assert_eq!(page(&app, &desk, "/app").await.status(), 303);
    assert_eq!(page(&app, &tablet, "/app").await.status(), 303);
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM sessions WHERE revoked_at IS NULL",
            &[]
        )
        .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn the_week_shows_each_stylist_s_bookings_day_by_day() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    // Two weeks ahead, so the whole week is in the future whenever this runs.
    let some_day = day(14);
    let monday = some_day
        - chrono::Days::new(u64::from(
            chrono::Datelike::weekday(&some_day).num_days_from_monday(),
        ));
    let wednesday = monday + chrono::Days::new(2);
    let saturday = monday + chrono::Days::new(5);
    for (date, hour, stylist) in [(wednesday, 10, 0), (saturday, 15, 1)] {
        body(
            post(
                &app,
                salon.token(),
                "/api/v1/appointments",
                &json!({
                    "location_id": salon.location, "client_id": salon.client, "start": pune(date, hour, 30),
                    "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[stylist]}],
                }),
            )
            .await,
            201,
        )
        .await;
    }
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let week = html(
        page(&app, &owner, &format!("/app/calendar/week?date={some_day}")).await,
        200,
    )
    .await;
    assert!(week.contains("2 services booked this week."), "{week}");
    let rows: Vec<&str> = week.split("<th scope=\"row\">").skip(1).collect();
    assert_eq!(rows.len(), 2);
    let cells = |row: &str| -> Vec<String> {
        row.split("<td")
            .skip(1)
            .map(|c| c.split("</td>").next().unwrap().to_owned())
            .collect()
    };
    let (first, second) = (cells(rows[0]), cells(rows[1]));
    assert_eq!((first.len(), second.len()), (7, 7));
    // Stylist 0 on Wednesday, Stylist 1 on Saturday, each in their branch's time.
    assert!(rows[0].starts_with("Stylist 0</th>"));
    assert!(
        first[2].contains("<time>10:30–11:15</time> Neha Kulkarni · Haircut</a>"),
        "{}",
        first[2]
    );
    assert!(
        second[5].contains("<time>15:30–16:15</time> Neha Kulkarni · Haircut</a>"),
        "{}",
        second[5]
    );
    let elsewhere = first
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .chain(second.iter().enumerate().filter(|(i, _)| *i != 5));
    for (_, cell) in elsewhere {
        assert!(!cell.contains("week-item"), "{cell}");
        assert!(
            cell.contains("<span class=\"muted hours\">09:00–21:00</span>"),
            "{cell}"
        );
    }
    assert!(week.contains(&format!(
        "href=\"/app/calendar?location={}&amp;date={wednesday}\">",
        salon.location
    )));
    assert!(week.contains(&format!("date={}\" rel=\"next\"", monday + chrono::Days::new(7))));
    app.stop().await;
}

#[tokio::test]
async fn the_owner_invites_a_receptionist_from_the_team_page_and_unlocks_a_locked_account() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let team = html(page(&app, &owner, "/app/team").await, 200).await;
    assert!(
        team.contains("<option value=\"receptionist\" selected>receptionist</option>"),
        "{team}"
    );

    let bad = html(
        send_form(
            &app,
            &owner,
            "/app/team",
            &[
                ("name", "Anil Joshi"),
                ("email", "anil-at-example"),
                ("role", "receptionist"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(bad.contains("id=\"email-error\">"), "{bad}");
    assert!(bad.contains("name=\"name\" type=\"text\" value=\"Anil Joshi\""));
    let invited = send_form(
        &app,
        &owner,
        "/app/team",
        &[
            ("name", "Anil Joshi"),
            ("email", "anil@example.com"),
            ("role", "receptionist"),
        ],
    )
    .await;
    assert_eq!(invited.status(), 303);
    let team = html(page(&app, &owner, "/app/team?done=invited").await, 200).await;
    assert!(team.contains("Invited: the invitation is on its way by email."));
    assert!(
        team.contains(
            "<tr><td>Anil Joshi</td><td>anil@example.com</td><td>receptionist</td>\n        <td>Invited</td>"
        ),
        "{team}"
    );
    // Again: the address is taken, said next to it.
    let again = html(
        send_form(
            &app,
            &owner,
            "/app/team",
            &[
                ("name", "Anil Joshi"),
                ("email", "anil@example.com"),
                ("role", "receptionist"),
            ],
        )
        .await,
        409,
    )
    .await;
    assert!(
        again.contains("id=\"email-error\">Someone in this business already uses that email.</p>"),
        "{again}"
    );

    // The invitation's link sets the password; the account is active.
    let token = app
        .outbox_token(
            &salon.business.tenant_id,
            "anil@example.com",
            "/invite/accept?token=",
        )
        .await;
    let link = format!("/invite/accept?token={token}");
    let accepted = signed_out_form(
        &app,
        &link,
        "/invite/accept",
        &[
            ("token", &token),
            ("password", "banyan-ochre-kestrel-27"),
            ("repeat", "banyan-ochre-kestrel-27"),
        ],
    )
    .await;
    assert_eq!(accepted.status(), 303);

    // Locked by failed sign-ins: the owner unlocks it.
    let mut db = support::admin(&app).await;
    sqlx::query(
        "UPDATE users SET locked_until = now() + interval '15 minutes' WHERE email = 'anil@example.com'",
    )
    .execute(&mut db)
    .await
    .unwrap();
    let team = html(page(&app, &owner, "/app/team").await, 200).await;
    assert!(team.contains("<td>Active · locked"), "{team}");
    let anil: String = sqlx::query_scalar("SELECT id::text FROM users WHERE email = 'anil@example.com'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    let unlocked = send_form(&app, &owner, &format!("/app/team/{anil}/unlock"), &[]).await;
    assert_eq!(unlocked.status(), 303);
    let team = html(page(&app, &owner, "/app/team?done=unlocked").await, 200).await;
    assert!(team.contains("Unlocked: they can sign in again."));
    assert!(!team.contains("· locked"));
    let (_, signed) = sign_in(&app, "anil@example.com", "banyan-ochre-kestrel-27", "/app").await;
    assert!(signed.is_some());
    app.stop().await;
}

#[tokio::test]
async fn products_are_added_and_their_stock_received_and_used_from_the_products_page() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let empty = html(page(&app, &owner, "/app/products").await, 200).await;
    assert!(empty.contains("No products yet."));
    let location = hidden(&empty, "location");

    let product = |price: &'static str| {
        vec![
            ("location", location.clone()),
            ("sku", "SH-200".to_owned()),
            ("name", "Argan shampoo 200 ml".to_owned()),
            ("hsn_code", "3305".to_owned()),
            ("price", price.to_owned()),
            ("low_stock", "3".to_owned()),
        ]
    };
    let as_refs = |fields: &Vec<(&'static str, String)>| {
        fields.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let bad = as_refs(&product("four fifty"));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = html(send_form(&app, &owner, "/app/products", &bad).await, 422).await;
    assert!(
        refused.contains("id=\"price-error\">Enter the price in rupees, e.g. 450.</p>"),
        "{refused}"
    );
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM products", &[]).await,
        0
    );
    let good = as_refs(&product("450"));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let added = send_form(&app, &owner, "/app/products", &good).await;
    assert_eq!(added.status(), 303);
    let listed = html(
        page(&app, &owner, added.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(listed.contains("Product added."));
    // None in stock yet: low.
    assert!(
        listed.contains("<tr><td>SH-200</td><td>Argan shampoo 200 ml</td><td class=\"num\">₹450.00</td><td class=\"num\">0</td><td><span class=\"badge risk-medium\">Low</span></td><td><a href=\"/app/products?location="),
        "{listed}"
    );

    // Twelve received (the form sent twice: recorded once), then two used in the salon.
    let key = hidden(&listed, "key");
    let product_id = listed
        .split("<select id=\"product\" name=\"product\">")
        .nth(1)
        .and_then(|rest| rest.split("value=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let received = [
        ("key", key.as_str()),
        ("location", location.as_str()),
        ("product", product_id.as_str()),
        ("kind", "purchase"),
        ("quantity", "12"),
        ("note", "Bill 4471"),
    ];
    for _ in 0..2 {
        assert_eq!(
            send_form(&app, &owner, "/app/products/stock", &received)
                .await
                .status(),
            303
        );
    }
    let used = [
        ("key", "another-key-0123456789"),
        ("location", location.as_str()),
        ("product", product_id.as_str()),
        ("kind", "internal_use"),
        ("quantity", "-2"),
        ("note", ""),
    ];
    assert_eq!(
        send_form(&app, &owner, "/app/products/stock", &used)
            .await
            .status(),
        303
    );
    let stock = html(
        page(
            &app,
            &owner,
            &format!("/app/products?location={location}&done=moved"),
        )
        .await,
        200,
    )
    .await;
    assert!(stock.contains("Stock recorded."));
    assert!(
        stock.contains("<td class=\"num\">₹450.00</td><td class=\"num\">10</td><td></td><td><a href=\"/app/products?location="),
        "{stock}"
    );
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM stock_movements", &[]).await,
        2
    );
    // Units that are not a number: said next to them.
    let mut typo = used;
    typo[0] = ("key", "third-key-0123456789");
    typo[4] = ("quantity", "two");
    let typo = html(send_form(&app, &owner, "/app/products/stock", &typo).await, 422).await;
    assert!(typo.contains("id=\"quantity-error\">"), "{typo}");

    // A new price and low mark: the form shows what is stored.
    let product: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM products")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    let change = html(
        page(
            &app,
            &owner,
            &format!("/app/products?location={location}&change={product}"),
        )
        .await,
        200,
    )
    .await;
    assert!(change.contains("Change Argan shampoo 200 ml</h2>"), "{change}");
    assert!(change.contains("name=\"price\" type=\"text\" value=\"450\""));
    let fields = |price: &'static str| {
        vec![
            ("location", location.as_str()),
            ("sku", "SH-200"),
            ("name", "Argan shampoo 200 ml"),
            ("hsn_code", "3305"),
            ("price", price),
            ("low_stock", "4"),
            ("active", "yes"),
        ]
    };
    let path = format!("/app/products/{product}");
    let refused = html(send_form(&app, &owner, &path, &fields("lots")).await, 422).await;
    assert!(refused.contains("id=\"price-error\">"), "{refused}");
    let saved = send_form(&app, &owner, &path, &fields("495")).await;
    assert_eq!(saved.status(), 303);
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM products WHERE price_paise = 49500 AND low_stock_threshold = 4 AND active",
            &[]
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn an_operator_signs_in_to_the_platform_pages_and_suspends_and_reactivates_a_business() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let db = app.db.as_ref().unwrap();
    let created = support::ftry_command()
        .args([
            "admin",
            "create",
            "--email",
            "ops@ftry.example",
            "--name",
            "Ops Person",
        ])
        .env("DATABASE_URL", db.app_url())
        .env("FTRY_DATABASE_OWNER_URL", db.owner_url())
        .env("FTRY_ADMIN_PASSWORD", "granite-sunrise-operator-91")
        .output()
        .unwrap();
    assert_eq!(
        created.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );

    // A business's session opens nothing here.
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let refused = page(&app, &owner, "/platform").await;
    assert_eq!(refused.status(), 303);
    assert_eq!(refused.headers()[LOCATION], "/platform/login");

    let wrong = signed_out_form(
        &app,
        "/platform/login",
        "/platform/login",
        &[
            ("email", "ops@ftry.example"),
            ("password", "not-the-operator-password"),
        ],
    )
    .await;
    let wrong = html(wrong, 401).await;
    assert!(wrong.contains("id=\"login-error\">"), "{wrong}");
    let signed = signed_out_form(
        &app,
        "/platform/login",
        "/platform/login",
        &[
            ("email", "ops@ftry.example"),
            ("password", "granite-sunrise-operator-91"),
        ],
    )
    .await;
    assert_eq!(signed.status(), 303);
    let raw: Vec<String> = signed
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        raw.iter()
            .all(|c| c.contains("Path=/platform") && c.contains("HttpOnly") && c.contains("SameSite=Strict")),
        "{raw:?}"
    );
    let cookies = set_cookies(&signed);
    let operator = Browser {
        cookie: format!(
            "ftry_operator={}; ftry_operator_csrf={}",
            cookie_value(&cookies, "ftry_operator"),
            cookie_value(&cookies, "ftry_operator_csrf")
        ),
        csrf: cookie_value(&cookies, "ftry_operator_csrf"),
    };
    let list = html(page(&app, &operator, "/platform").await, 200).await;
    assert!(
        list.contains(&format!(
            "<th scope=\"row\">Kesar Studio</th><td>/{}</td>",
            salon.business.slug
        )),
        "{list}"
    );
    assert!(
        list.contains("<td>1 of ") && list.contains(">Suspend</button>"),
        "{list}"
    );

    let tenant = &salon.business.tenant_id;
    let suspended = send_form(
        &app,
        &operator,
        &format!("/platform/tenants/{tenant}/suspend"),
        &[("reason", "Unpaid invoice")],
    )
    .await;
    assert_eq!(suspended.status(), 303);
    let list = html(page(&app, &operator, "/platform?done=suspended").await, 200).await;
    assert!(
        list.contains("<td>suspended <span class=\"muted\">· Unpaid invoice</span></td>"),
        "{list}"
    );
    assert!(list.contains(">Reactivate</button>"));
    // Its people are signed out of the web app while it is suspended.
    assert_eq!(page(&app, &owner, "/app").await.status(), 303);
    let reactivated = send_form(
        &app,
        &operator,
        &format!("/platform/tenants/{tenant}/activate"),
        &[("reason", "Paid")],
    )
    .await;
    assert_eq!(reactivated.status(), 303);
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM tenants WHERE status = 'active'", &[]).await,
        1
    );
    // Without the session's token, nothing changes.
    let forged = send_form(
        &app,
        &Browser {
            cookie: operator.cookie.clone(),
            csrf: "0000000000000000000000".into(),
        },
        &format!("/platform/tenants/{tenant}/suspend"),
        &[],
    )
    .await;
    assert_eq!(forged.status(), 403);
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM tenants WHERE status = 'active'", &[]).await,
        1
    );

    // The dead letters: what failed them, retried or discarded from the page.
    let mut admin = support::admin(&app).await;
    let (dead, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for id in [dead, other] {
        sqlx::query(
            "INSERT INTO jobs (id, queue, kind, tenant_id, state, attempts, max_attempts, timeout_secs, last_error)
             VALUES ($1, 'notifications', 'notification.send', $2::uuid, 'dead', 8, 8, 60,
                     'sms: HTTP 400: (21211) The To number is not valid')",
        )
        .bind(id)
        .bind(tenant)
        .execute(&mut admin)
        .await
        .unwrap();
    }
    let jobs = html(page(&app, &operator, "/platform/jobs").await, 200).await;
    assert_eq!(jobs.matches(">Retry</button>").count(), 2, "{jobs}");
    assert!(
        jobs.contains(&format!(
            "<td>notification.send<br><span class=\"muted\">{dead}</span></td><td>{tenant}</td><td>8 of 8</td>"
        )),
        "{jobs}"
    );
    assert!(jobs.contains("<td>sms: HTTP 400: (21211) The To number is not valid</td>"));
    let retried = send_form(&app, &operator, &format!("/platform/jobs/{dead}/retry"), &[]).await;
    assert_eq!(retried.status(), 303);
    let discarded = send_form(&app, &operator, &format!("/platform/jobs/{other}/discard"), &[]).await;
    assert_eq!(discarded.status(), 303);
    let states: Vec<(String, i32)> =
        sqlx::query_as("SELECT state, attempts FROM jobs WHERE id = ANY($1) ORDER BY id")
            .bind(vec![dead, other])
            .fetch_all(&mut admin)
            .await
            .unwrap();
    assert_eq!(states, [("queued".to_owned(), 0), ("discarded".to_owned(), 8)]);
    // Done once: a second retry changes nothing and says so.
    let again = send_form(&app, &operator, &format!("/platform/jobs/{dead}/retry"), &[]).await;
    assert_eq!(again.status(), 409);
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM platform_audit_events WHERE resource_type = 'job' ORDER BY id",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(audited, ["job.retried", "job.discarded"]);
    let empty = html(page(&app, &operator, "/platform/jobs").await, 200).await;
    assert!(empty.contains("No dead job."), "{empty}");
    html(page(&app, &operator, "/platform/jobs?state=lost").await, 400).await;
    app.stop().await;
}

#[tokio::test]
async fn the_branch_page_closes_days_for_a_holiday_and_opens_them_again() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-holidays").await;
    let branch = html(page(&app, &owner, "/app/branch").await, 200).await;
    assert!(branch.contains("No holidays ahead."));
    let location = hidden(&branch, "location");
    let nothing = html(
        send_form(
            &app,
            &owner,
            "/app/branch/closures",
            &[
                ("location", &location),
                ("first_day", ""),
                ("last_day", ""),
                ("reason", "Diwali"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(
        nothing.contains(
            "id=\"closure-error\">Pick the first day closed (and the last, for more than one).</p>"
        ),
        "{nothing}"
    );
    let (first, last) = (day(10), day(12));
    let backwards = html(
        send_form(
            &app,
            &owner,
            "/app/branch/closures",
            &[
                ("location", &location),
                ("first_day", &last.to_string()),
                ("last_day", &first.to_string()),
                ("reason", "Diwali"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(backwards.contains("id=\"closure-error\">"), "{backwards}");
    assert!(
        backwards.contains("name=\"reason\" value=\"Diwali\""),
        "what was typed is kept"
    );
    let closed = send_form(
        &app,
        &owner,
        "/app/branch/closures",
        &[
            ("location", &location),
            ("first_day", &first.to_string()),
            ("last_day", &last.to_string()),
            ("reason", "Diwali"),
        ],
    )
    .await;
    assert_eq!(closed.status(), 303);
    let branch = html(
        page(&app, &owner, closed.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(branch.contains("Closed days saved: nothing can be booked on them."));
    assert!(
        branch.contains(&format!(
            "<li>{} – {} · Diwali",
            first.format("%a %-d %b"),
            last.format("%a %-d %b %Y")
        )),
        "{branch}"
    );
    let closure: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM location_closures")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    let reopened = send_form(
        &app,
        &owner,
        "/app/branch/closures/remove",
        &[("location", &location), ("closure", &closure)],
    )
    .await;
    assert_eq!(reopened.status(), 303);
    let branch = html(page(&app, &owner, "/app/branch?saved=reopened").await, 200).await;
    assert!(branch.contains("Open again on those days.") && branch.contains("No holidays ahead."));
    app.stop().await;
}

#[tokio::test]
async fn time_off_from_the_staff_page_keeps_bookings_away_until_it_is_cancelled() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let location = salon.location.to_string();
    let stylist = salon.stylists[0].to_string();
    let away = day(3);
    let no_day = html(
        send_form(
            &app,
            &owner,
            "/app/staff/time-off",
            &[
                ("location", &location),
                ("staff", &stylist),
                ("from_day", ""),
                ("reason", "Leave"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(
        no_day.contains("id=\"time-off-error\">Pick the first day away (and times, for part of a day).</p>"),
        "{no_day}"
    );
    assert!(no_day.contains("name=\"reason\" value=\"Leave\""));
    let saved = send_form(
        &app,
        &owner,
        "/app/staff/time-off",
        &[
            ("location", &location),
            ("staff", &stylist),
            ("from_day", &away.to_string()),
            ("from_time", ""),
            ("to_day", ""),
            ("to_time", ""),
            ("reason", "Leave"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    let staff = html(
        page(&app, &owner, saved.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    let whole_day = format!(
        "Away {} 00:00 – {} 00:00 · Leave",
        away.format("%a %-d %b"),
        away.succ_opt().unwrap().format("%a %-d %b")
    );
    assert!(staff.contains(&whole_day), "{staff}");
    let booking = json!({
        "location_id": salon.location, "client_id": salon.client, "start": pune(away, 11, 0),
        "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
    });
    let refused = post(&app, salon.token(), "/api/v1/appointments", &booking).await;
    assert_eq!(refused.status(), 409, "away all day");

    let time_off: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM time_off")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    let cancelled = send_form(
        &app,
        &owner,
        "/app/staff/time-off/remove",
        &[
            ("location", &location),
            ("staff", &stylist),
            ("time_off", &time_off),
        ],
    )
    .await;
    assert_eq!(cancelled.status(), 303);
    let staff = html(page(&app, &owner, "/app/staff").await, 200).await;
    assert!(!staff.contains("Away "));
    body(
        post(&app, salon.token(), "/api/v1/appointments", &booking).await,
        201,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_branch_page_sets_how_clients_book_and_cancel_online() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-rules").await;
    let branch = html(page(&app, &owner, "/app/branch").await, 200).await;
    // A new branch's rules: online, an hour's notice.
    assert!(
        branch.contains("name=\"online\" value=\"yes\" checked>"),
        "{branch}"
    );
    assert!(
        branch.contains("name=\"notice_hours\" type=\"number\" min=\"0\" step=\"0.25\" value=\"1\""),
        "{branch}"
    );
    let location = hidden(&branch, "location");
    let rules = |step: &'static str| {
        vec![
            ("location", location.clone()),
            ("notice_hours", "2.5".to_owned()),
            ("days_ahead", "30".to_owned()),
            ("step", step.to_owned()),
            ("cancel_hours", "12".to_owned()),
        ]
    };
    let as_refs =
        |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let odd = as_refs(&rules("7"));
    let odd: Vec<(&str, &str)> = odd.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = html(send_form(&app, &owner, "/app/branch/rules", &odd).await, 422).await;
    assert!(
        refused.contains("id=\"rules-error\">The spacing of times (in minutes) "),
        "{refused}"
    );
    assert!(
        refused.contains("name=\"days_ahead\" type=\"number\" min=\"0\" max=\"365\" value=\"30\""),
        "what was typed is kept"
    );
    let good = as_refs(&rules("30"));
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The checkbox left unticked: no online booking.
    let saved = send_form(&app, &owner, "/app/branch/rules", &good).await;
    assert_eq!(saved.status(), 303);
    let branch = html(
        page(&app, &owner, saved.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(branch.contains("Booking rules saved."));
    assert!(
        branch.contains("name=\"online\" value=\"yes\">")
            && branch.contains("<option value=\"30\" selected>30 minutes</option>"),
        "{branch}"
    );
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM locations WHERE NOT online_booking AND min_notice_minutes = 150 AND max_days_ahead = 30
               AND slot_step_minutes = 30 AND cancellation_window_minutes = 720",
            &[]
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_owner_sets_how_the_business_charges_gst_and_adds_and_changes_a_branch() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-business").await;
    let business = html(page(&app, &owner, "/app/business").await, 200).await;
    assert!(business.contains("<h1>Business and billing</h1>"), "{business}");
    assert!(business.contains("name=\"gst_registration\" value=\"regular\" checked"));
    assert!(business.contains("name=\"prices_include_tax\" value=\"yes\" checked"));
    assert!(business.contains("<a href=\"/app/business\">Business and billing</a>"));
    let settings = || {
        support::count(
            &app,
            "SELECT ((gst_registration = 'composition')::int * 100 + (prices_include_tax)::int * 10
                    + (round_off)::int)::bigint FROM tenants",
            &[],
        )
    };
    assert_eq!(settings().await, 11);
    let checked = html(page(&app, &owner, "/app/business?verify=1").await, 200).await;
    assert!(
        checked.contains("id=\"ledger\">The ledger checks out: 0 documents in 0 series, each chained to the one before.</p>"),
        "{checked}"
    );

    // Prices before tax; everything else as it was (an unticked box is "no").
    let saved = send_form(
        &app,
        &owner,
        "/app/business",
        &[
            ("business_name", "Chandan Beauty Lounge"),
            ("gst_registration", "regular"),
            ("round_off", "yes"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()[LOCATION], "/app/business?saved=settings");
    assert_eq!(settings().await, 1);
    let after = html(page(&app, &owner, "/app/business?saved=settings").await, 200).await;
    assert!(after.contains("Saved: invoices finalized from now on follow these settings."));
    assert!(
        after.contains("name=\"prices_include_tax\" value=\"yes\">"),
        "{after}"
    );
    // Only what changed is sent, so the audit log names just that.
    let changes: (String, String) = {
        let mut db = support::admin(&app).await;
        sqlx::query_as("SELECT before::text, after::text FROM audit_events WHERE action = 'tenant.updated'")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    assert_eq!(
        changes,
        (
            r#"{"prices_include_tax": true}"#.to_owned(),
            r#"{"prices_include_tax": false}"#.to_owned()
        )
    );

    // A refusal is shown next to its field and what was typed is kept.
    let refused = html(
        send_form(
            &app,
            &owner,
            "/app/business",
            &[("business_name", " "), ("gst_registration", "composition")],
        )
        .await,
        422,
    )
    .await;
    assert!(refused.contains("id=\"business_name-error\">"), "{refused}");
    assert!(refused.contains("name=\"gst_registration\" value=\"composition\" checked"));
    assert_eq!(settings().await, 1, "nothing saved");

    // A second branch: its GSTIN must be of its state.
    let branches = || support::count(&app, "SELECT count(*) FROM locations", &[]);
    let wrong_state = html(
        send_form(
            &app,
            &owner,
            "/app/business/branches",
            &[
                ("branch_name", "Koregaon Park"),
                ("address", "Lane 6, Koregaon Park, Pune"),
                ("state_code", "29"),
                ("gstin", GSTIN),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(wrong_state.contains("id=\"gstin-error\">"), "{wrong_state}");
    assert!(wrong_state.contains("value=\"Lane 6, Koregaon Park, Pune\""));
    assert!(wrong_state.contains("<option value=\"29\" selected>"));
    assert_eq!(branches().await, 1);
    let added = send_form(
        &app,
        &owner,
        "/app/business/branches",
        &[
            ("branch_name", "Koregaon Park"),
            ("address", "Lane 6, Koregaon Park, Pune"),
            ("state_code", "27"),
            ("gstin", ""),
        ],
    )
    .await;
    assert_eq!(added.status(), 303);
    let new_branch: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM locations WHERE name = 'Koregaon Park'")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    // Straight to its hours: nothing can be booked there until they are saved.
    assert_eq!(
        added.headers()[LOCATION].to_str().unwrap(),
        format!("/app/branch?location={new_branch}")
    );
    let hours = html(
        page(&app, &owner, &format!("/app/branch?location={new_branch}")).await,
        200,
    )
    .await;
    assert!(hours.contains("nothing can be booked here until they are saved"));

    // Its GSTIN, given later from the branch's "Change" form.
    let listed = html(page(&app, &owner, "/app/business").await, 200).await;
    assert!(listed.contains("None: bills of supply"), "{listed}");
    let change = html(
        page(&app, &owner, &format!("/app/business?branch={new_branch}")).await,
        200,
    )
    .await;
    assert!(change.contains("<h2>Change Koregaon Park</h2>"), "{change}");
    let given = send_form(
        &app,
        &owner,
        &format!("/app/business/branches/{new_branch}"),
        &[
            ("branch_name", "Koregaon Park"),
            ("address", "Lane 6, Koregaon Park, Pune"),
            ("gstin", "27AAACR5055K1Z8"),
        ],
    )
    .await;
    let refused = html(given, 422).await;
    assert!(
        refused.contains("id=\"gstin-error\">"),
        "a wrong check character: {refused}"
    );
    let given = send_form(
        &app,
        &owner,
        &format!("/app/business/branches/{new_branch}"),
        &[
            ("branch_name", "Koregaon Park"),
            ("address", "Lane 6, Koregaon Park, Pune"),
            ("gstin", GSTIN),
        ],
    )
    .await;
    assert_eq!(given.status(), 303);
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM locations WHERE gstin = $1", &[GSTIN]).await,
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn the_owner_makes_a_role_of_their_own_and_gives_it_to_a_receptionist_who_then_sees_revenue() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let (desk_id, _, desk_email) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;

    let roles = html(page(&app, &owner, "/app/roles").await, 200).await;
    assert!(
        roles.contains("<h1>Roles</h1>") && roles.contains("<h2>New role</h2>"),
        "{roles}"
    );
    assert!(roles.contains("receptionist <span class=\"badge\">built in</span>"));
    let custom = || support::count(&app, "SELECT count(*) FROM roles WHERE builtin IS NULL", &[]);
    assert_eq!(custom().await, 0);

    // A name people cannot type elsewhere is refused next to it; the ticks stay.
    let refused = html(
        send_form(
            &app,
            &owner,
            "/app/roles",
            &[
                ("name", "Senior Stylist!"),
                ("description", "Front desk who may see revenue"),
                ("permission", "calendar:read"),
                ("permission", "reports:revenue"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(
        refused.contains("id=\"name-error\">Use lowercase letters"),
        "{refused}"
    );
    assert!(refused.contains("name=\"permission\" value=\"reports:revenue\" checked"));
    assert_eq!(custom().await, 0);

    let created = send_form(
        &app,
        &owner,
        "/app/roles",
        &[
            ("name", "desk lead"),
            ("description", "Front desk who may see revenue"),
            ("permission", "locations:read"),
            ("permission", "calendar:read"),
            ("permission", "appointments:manage"),
            ("permission", "reports:revenue"),
        ],
    )
    .await;
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()[LOCATION], "/app/roles?done=created");
    assert_eq!(custom().await, 1);
    let again = html(
        send_form(
            &app,
            &owner,
            "/app/roles",
            &[("name", "desk lead"), ("permission", "calendar:read")],
        )
        .await,
        409,
    )
    .await;
    assert!(
        again.contains("id=\"name-error\">A role named desk lead exists already.</p>"),
        "{again}"
    );

    // Given to the receptionist from the team page: the revenue report opens.
    let (_, desk) = sign_in(&app, &desk_email, "copper-kettle-monsoon-77", "/app").await;
    let desk = desk.unwrap();
    html(page(&app, &desk, "/app/reports/revenue").await, 403).await;
    let team = html(page(&app, &owner, "/app/team").await, 200).await;
    assert!(
        team.contains(&format!("action=\"/app/team/{desk_id}/roles\"")),
        "{team}"
    );
    assert!(team.contains("<option value=\"desk lead\">desk lead</option>"));
    let given = send_form(
        &app,
        &owner,
        &format!("/app/team/{desk_id}/roles"),
        &[("role", "desk lead")],
    )
    .await;
    assert_eq!(given.status(), 303);
    let team = html(page(&app, &owner, "/app/team?done=roles").await, 200).await;
    assert!(team.contains("Role changed: it applies from their next request."));
    assert!(
        team.contains(&format!("<td>{desk_email}</td><td>desk lead</td>")),
        "{team}"
    );
    html(page(&app, &desk, "/app/reports/revenue").await, 200).await;

    // A role someone holds is not deleted; once nobody does, it is.
    let role_id: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM roles WHERE name = 'desk lead'")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    let held = html(
        send_form(&app, &owner, &format!("/app/roles/{role_id}/delete"), &[]).await,
        409,
    )
    .await;
    assert!(
        held.contains("id=\"permissions-error\">Some accounts hold this role; change their roles first.</p>"),
        "{held}"
    );
    // Changed: without the revenue report, the receptionist loses it at once.
    let saved = send_form(
        &app,
        &owner,
        &format!("/app/roles/{role_id}"),
        &[
            ("description", "Front desk lead"),
            ("permission", "locations:read"),
            ("permission", "calendar:read"),
            ("permission", "appointments:manage"),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    html(page(&app, &desk, "/app/reports/revenue").await, 403).await;
    let back = send_form(
        &app,
        &owner,
        &format!("/app/team/{desk_id}/roles"),
        &[("role", "receptionist")],
    )
    .await;
    assert_eq!(back.status(), 303);
    // An address whose id is not one is a page that does not exist.
    let mistyped = html(
        send_form(&app, &owner, "/app/roles/desk-lead/delete", &[]).await,
        404,
    )
    .await;
    assert!(mistyped.contains("<h1>Page not found</h1>"), "{mistyped}");
    let deleted = send_form(&app, &owner, &format!("/app/roles/{role_id}/delete"), &[]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(custom().await, 0);

    // The receptionist leaves: disabled, her session opens nothing; enabled again.
    let disabled = send_form(
        &app,
        &owner,
        &format!("/app/team/{desk_id}/status"),
        &[("status", "disabled")],
    )
    .await;
    assert_eq!(disabled.status(), 303);
    assert_eq!(disabled.headers()[LOCATION], "/app/team?done=disabled");
    let team = html(page(&app, &owner, "/app/team?done=disabled").await, 200).await;
    assert!(team.contains("Disabled: they are signed out everywhere and cannot sign in."));
    assert!(
        team.contains("<button type=\"submit\" name=\"status\" value=\"active\">Enable</button>"),
        "{team}"
    );
    let gone = page(&app, &desk, "/app").await;
    assert_eq!(gone.status(), 303, "the session ended");
    let (_, refused) = sign_in(&app, &desk_email, "copper-kettle-monsoon-77", "/app").await;
    assert!(refused.is_none());
    let enabled = send_form(
        &app,
        &owner,
        &format!("/app/team/{desk_id}/status"),
        &[("status", "active")],
    )
    .await;
    assert_eq!(enabled.headers()[LOCATION], "/app/team?done=enabled");
    let (_, back) = sign_in(&app, &desk_email, "copper-kettle-monsoon-77", "/app").await;
    assert!(back.is_some());
    app.stop().await;
}

#[tokio::test]
async fn services_are_filed_in_categories_changed_and_given_a_room_from_the_setup_pages() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-catalog").await;

    // A room first: the massage will need one.
    let rooms = html(page(&app, &owner, "/app/resources").await, 200).await;
    assert!(
        rooms.contains("<h1>Rooms and chairs</h1>") && rooms.contains("None yet."),
        "{rooms}"
    );
    let location = rooms
        .split("<option value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let no_capacity = html(
        send_form(
            &app,
            &owner,
            "/app/resources",
            &[
                ("location", &location),
                ("name", "Spa room 1"),
                ("kind", "spa_room"),
                ("capacity", ""),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(no_capacity.contains("id=\"capacity-error\">"), "{no_capacity}");
    assert!(no_capacity.contains("name=\"name\" type=\"text\" value=\"Spa room 1\""));
    let added = send_form(
        &app,
        &owner,
        "/app/resources",
        &[
            ("location", &location),
            ("name", "Spa room 1"),
            ("kind", "spa_room"),
            ("capacity", "1"),
        ],
    )
    .await;
    assert_eq!(added.status(), 303);
    assert_eq!(added.headers()[LOCATION], "/app/resources?done=added");
    let rooms = html(page(&app, &owner, "/app/resources?done=added").await, 200).await;
    assert!(
        rooms.contains("<td>Spa room 1</td><td>spa_room</td><td>Baner</td><td class=\"num\">1</td>"),
        "{rooms}"
    );

    // A category, then a service filed under it that needs the room.
    let category = send_form(
        &app,
        &owner,
        "/app/services/categories",
        &[("category_name", "Spa")],
    )
    .await;
    assert_eq!(category.status(), 303);
    let again = html(
        send_form(
            &app,
            &owner,
            "/app/services/categories",
            &[("category_name", "Spa")],
        )
        .await,
        409,
    )
    .await;
    assert!(
        again.contains("id=\"category_name-error\">Another service category already has this name.</p>"),
        "{again}"
    );
    let form = html(page(&app, &owner, "/app/services").await, 200).await;
    let spa: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM service_categories WHERE name = 'Spa'")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    assert!(
        form.contains(&format!("<option value=\"{spa}\">Spa</option>")),
        "{form}"
    );
    assert!(
        form.contains("<option value=\"spa_room\">spa_room</option>"),
        "{form}"
    );
    let massage = send_form(
        &app,
        &owner,
        "/app/services",
        &[
            ("name", "Aroma massage"),
            ("minutes", "60"),
            ("price", "2,400"),
            ("tax_code", "999723"),
            ("online", "yes"),
            ("category", &spa),
            ("resource_type", "spa_room"),
        ],
    )
    .await;
    assert_eq!(massage.status(), 303, "{}", massage.text().await.unwrap());
    let stored = || {
        support::count(
            &app,
            "SELECT count(*) FROM services s JOIN service_categories c ON c.id = s.category_id
              WHERE s.name = 'Aroma massage' AND c.name = 'Spa' AND s.resource_type = 'spa_room'
                AND s.price_paise = 240000 AND s.active",
            &[],
        )
    };
    assert_eq!(stored().await, 1);
    let id: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM services")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };

    // Changed: a new price and length; the form shows what is stored.
    let change = html(
        page(&app, &owner, &format!("/app/services?change={id}")).await,
        200,
    )
    .await;
    assert!(change.contains("<h2>Change Aroma massage</h2>"), "{change}");
    assert!(change.contains("name=\"price\" type=\"text\" value=\"2400\""));
    assert!(change.contains(&format!("<option value=\"{spa}\" selected>Spa</option>")));
    assert!(change.contains("<option value=\"spa_room\" selected>spa_room</option>"));
    let path = format!("/app/services/{id}");
    let fields = |price: &'static str, active: bool| {
        let mut fields = vec![
            ("name", "Aroma massage"),
            ("minutes", "75"),
            ("price", price),
            ("tax_code", "999723"),
            ("online", "yes"),
            ("category", spa.as_str()),
            ("resource_type", "spa_room"),
        ];
        if active {
            fields.push(("active", "yes"));
        }
        fields
    };
    let refused = html(send_form(&app, &owner, &path, &fields("a lot", true)).await, 422).await;
    assert!(refused.contains("id=\"price-error\">"), "{refused}");
    assert_eq!(stored().await, 1, "nothing changed");
    let saved = send_form(&app, &owner, &path, &fields("2,600", true)).await;
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()[LOCATION], "/app/services?saved=Aroma+massage");
    let listed = html(page(&app, &owner, "/app/services?saved=Aroma+massage").await, 200).await;
    assert!(listed.contains("Saved “Aroma massage”."));
    assert!(
        listed.contains("<tr><td>Aroma massage <span class=\"muted\">· Spa</span></td><td class=\"num\">75</td><td class=\"num\">₹2,600.00</td>"),
        "{listed}"
    );
    // No longer offered.
    assert_eq!(
        send_form(&app, &owner, &path, &fields("2,600", false))
            .await
            .status(),
        303
    );
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM services WHERE NOT active", &[]).await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_day_s_till_shows_the_takings_by_method_and_closes_once_with_the_cash_counted() {
    let app = TestApp::fresh().await;
    let salon = Salon::create(&app, setup()).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    let empty = html(page(&app, &owner, "/app/till").await, 200).await;
    assert!(
        empty.contains("Nothing was paid or refunded on this day."),
        "{empty}"
    );
    assert!(empty.contains("id=\"expected\">₹0.00</strong>"));

    // ₹600 haircuts: one paid ₹400 in cash and ₹200 by UPI, one by card.
    for parts in [vec![("cash", 40_000), ("upi", 20_000)], vec![("card", 60_000)]] {
        haircut_sold(&app, &salon, salon.stylists[0]).await;
        let id: String = {
            let mut db = support::admin(&app).await;
            sqlx::query_scalar("SELECT id::text FROM invoices WHERE payment_status = 'unpaid'")
                .fetch_one(&mut db)
                .await
                .unwrap()
        };
        for (method, amount) in parts {
            body(
                post(
                    &app,
                    salon.token(),
                    &format!("/api/v1/invoices/{id}/payments"),
                    &json!({"method": method, "amount_paise": amount}),
                )
                .await,
                201,
            )
            .await;
        }
    }
    let till = html(page(&app, &owner, "/app/till").await, 200).await;
    assert!(
        till.contains("<tr><th scope=\"row\">Cash</th><td class=\"num\">₹400.00</td></tr>")
            && till.contains("<tr><th scope=\"row\">UPI</th><td class=\"num\">₹200.00</td></tr>")
            && till.contains("<tr><th scope=\"row\">Card</th><td class=\"num\">₹600.00</td></tr>"),
        "{till}"
    );
    assert!(till.contains("id=\"expected\">₹400.00</strong>"));
    let location = hidden(&till, "location");
    let date = hidden(&till, "date");
    let unreadable = html(
        send_form(
            &app,
            &owner,
            "/app/till",
            &[
                ("location", &location),
                ("date", &date),
                ("counted", "four hundred"),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(unreadable.contains("id=\"counted-error\">"), "{unreadable}");
    assert!(unreadable.contains("value=\"four hundred\""));
    let closed = send_form(
        &app,
        &owner,
        "/app/till",
        &[
            ("location", &location),
            ("date", &date),
            ("counted", "350"),
            ("note", "₹50 short, to check"),
        ],
    )
    .await;
    assert_eq!(closed.status(), 303);
    let shown = html(
        page(&app, &owner, closed.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(
        shown.contains("id=\"closed\">Closed: ₹350.00 counted, ₹50.00 short.</p>"),
        "{shown}"
    );
    assert!(!shown.contains("name=\"counted\""), "no second close");
    let again = send_form(
        &app,
        &owner,
        "/app/till",
        &[("location", &location), ("date", &date), ("counted", "400")],
    )
    .await;
    assert_eq!(again.status(), 409);
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM cash_closes WHERE counted_cash = 35000 AND difference = -5000",
            &[]
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_audit_log_and_the_messages_to_clients_are_read_from_their_pages() {
    // A worker, so the booking's confirmation is planned.
    let app = TestApp::fresh_with(|config| {
        config.jobs.run_in_serve = true;
        config.jobs.poll_interval_ms = 50;
    })
    .await;
    let salon = Salon::create(&app, setup()).await;
    let (_, owner) = sign_in(
        &app,
        &salon.business.owner_email,
        &salon.business.owner_password,
        "/app",
    )
    .await;
    let owner = owner.unwrap();
    body(
        post(
            &app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location, "client_id": salon.client, "start": pune(day(2), 10, 0),
                "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]}],
            }),
        )
        .await,
        201,
    )
    .await;

    let log = html(
        page(&app, &owner, "/app/audit?action=appointment.booked").await,
        200,
    )
    .await;
    let rows = log.matches("<td>appointment.booked</td>").count();
    assert_eq!(rows, 1, "{log}");
    let owner_name: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT name FROM users")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    assert!(
        log.contains(&format!(
            "<td>{owner_name}</td><td>appointment.booked</td><td>appointment "
        )),
        "{log}"
    );
    let nothing = html(page(&app, &owner, "/app/audit?action=no.such").await, 200).await;
    assert!(nothing.contains("No event with that action."));
    let all = html(page(&app, &owner, "/app/audit").await, 200).await;
    let events = support::count(&app, "SELECT count(*) FROM audit_events", &[]).await;
    assert_eq!(all.matches("</td></tr>").count() as i64, events.min(50), "{all}");

    let started = std::time::Instant::now();
    while support::count(&app, "SELECT count(*) FROM notifications", &[]).await == 0 {
        assert!(
            started.elapsed().as_secs() < 30,
            "the booking's confirmation was never planned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let messages = html(page(&app, &owner, "/app/messages").await, 200).await;
    let planned = support::count(&app, "SELECT count(*) FROM notifications", &[]).await;
    assert!(messages.contains(">Booking confirmed</a>"), "{messages}");
    assert_eq!(
        messages.matches("</td></tr>").count() as i64,
        planned,
        "{messages}"
    );
    html(page(&app, &owner, "/app/messages?status=lost").await, 400).await;
    // The reception desk may not read the audit log.
    let (_, _, email) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;
    let (_, desk) = sign_in(&app, &email, "copper-kettle-monsoon-77", "/app").await;
    let desk = desk.unwrap();
    html(page(&app, &desk, "/app/audit").await, 403).await;
    // No mail server: the owner reads what the outbox holds (the
    // receptionist's invitation among it); the desk does not see it.
    let messages = html(page(&app, &owner, "/app/messages").await, 200).await;
    let held = support::count(&app, "SELECT count(*) FROM outbox_messages", &[]).await;
    assert!(held >= 1);
    assert_eq!(
        messages.matches("<details><summary>").count() as i64,
        held.min(20),
        "{messages}"
    );
    assert!(messages.contains(&format!(" · {email} · ")), "{messages}");
    let desk_messages = html(page(&app, &desk, "/app/messages").await, 200).await;
    assert!(!desk_messages.contains("Development outbox"));
    app.stop().await;
}

#[tokio::test]
async fn an_integration_endpoint_is_added_with_its_secret_shown_once_turned_off_and_deleted() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-hooks").await;
    let empty = html(page(&app, &owner, "/app/webhooks").await, 200).await;
    assert!(
        empty.contains("<h1>Integrations</h1>") && empty.contains("No endpoint yet."),
        "{empty}"
    );
    let endpoints = || support::count(&app, "SELECT count(*) FROM webhook_endpoints", &[]);

    let private = html(
        send_form(
            &app,
            &owner,
            "/app/webhooks",
            &[("url", "https://10.0.0.7/hooks"), ("event", "appointment.booked")],
        )
        .await,
        422,
    )
    .await;
    assert!(
        private.contains("id=\"url-error\">Must be a public address, not a loopback or private one.</p>"),
        "{private}"
    );
    assert!(private.contains("name=\"event\" value=\"appointment.booked\" checked"));
    let no_event = html(
        send_form(
            &app,
            &owner,
            "/app/webhooks",
            &[("url", "https://crm.example.com/hooks/ftry")],
        )
        .await,
        422,
    )
    .await;
    assert!(
        no_event.contains("id=\"events-error\">Pick at least one event.</p>"),
        "{no_event}"
    );
    assert_eq!(endpoints().await, 0);

    let made = html(
        send_form(
            &app,
            &owner,
            "/app/webhooks",
            &[
                ("url", "https://crm.example.com/hooks/ftry"),
                ("description", "CRM sync"),
                ("event", "appointment.booked"),
                ("event", "invoice.finalized"),
            ],
        )
        .await,
        201,
    )
    .await;
    let secret = made
        .split("<p><code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .unwrap_or_else(|| panic!("no secret: {made}"))
        .to_owned();
    assert!(secret.len() >= 32, "{secret}");
    assert!(
        made.contains("<td>appointment.booked, invoice.finalized</td><td>On</td>"),
        "{made}"
    );
    let again = html(page(&app, &owner, "/app/webhooks").await, 200).await;
    assert!(!again.contains(&secret), "the secret is shown once");
    let id: String = {
        let mut db = support::admin(&app).await;
        sqlx::query_scalar("SELECT id::text FROM webhook_endpoints")
            .fetch_one(&mut db)
            .await
            .unwrap()
    };
    let deliveries = html(
        page(&app, &owner, &format!("/app/webhooks?deliveries={id}")).await,
        200,
    )
    .await;
    assert!(
        deliveries.contains("Latest deliveries to https://crm.example.com/hooks/ftry")
            && deliveries.contains("Nothing sent yet.")
    );

    let off = send_form(&app, &owner, &format!("/app/webhooks/{id}/off"), &[]).await;
    assert_eq!(off.headers()[LOCATION], "/app/webhooks?done=off");
    let listed = html(page(&app, &owner, "/app/webhooks?done=off").await, 200).await;
    assert!(
        listed.contains("<td>Off</td>") && listed.contains(">Turn on</button>"),
        "{listed}"
    );
    let renewed = html(
        send_form(&app, &owner, &format!("/app/webhooks/{id}/secret"), &[]).await,
        200,
    )
    .await;
    assert!(renewed.contains("<p><code>") && !renewed.contains(&secret));
    let deleted = send_form(&app, &owner, &format!("/app/webhooks/{id}/delete"), &[]).await;
    assert_eq!(deleted.headers()[LOCATION], "/app/webhooks?done=deleted");
    assert_eq!(endpoints().await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_sale_to_a_business_in_another_state_is_billed_to_its_gstin_with_igst() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "chandan-b2b").await;
    let (location, service, staff) = set_up_through_the_pages(&app, &owner).await;
    let started = send_form(
        &app,
        &owner,
        "/app/invoices",
        &[("location", &location), ("name", ""), ("phone", "")],
    )
    .await;
    let path = started.headers()[LOCATION].to_str().unwrap().to_owned();
    let draft = html(page(&app, &owner, &path).await, 200).await;
    // Billed, until said otherwise, in the branch's own state.
    assert!(
        draft.contains("<option value=\"27\" selected>Maharashtra (27)</option>"),
        "{draft}"
    );
    let billed = |gstin: &'static str| {
        vec![
            ("customer_name", "Marina Spa Supplies Pvt Ltd"),
            ("customer_phone", ""),
            ("customer_gstin", gstin),
            ("customer_address", "Anna Salai, Chennai"),
            ("customer_state", "33"),
        ]
    };
    let refused = html(
        send_form(
            &app,
            &owner,
            &format!("{path}/customer"),
            &billed("33AAACH7409R1Z9"),
        )
        .await,
        422,
    )
    .await;
    assert!(refused.contains("id=\"customer_gstin-error\">"), "{refused}");
    assert!(
        refused.contains("value=\"Anna Salai, Chennai\""),
        "what was typed is kept"
    );
    let saved = send_form(
        &app,
        &owner,
        &format!("{path}/customer"),
        &billed("33AAACH7409R1Z8"),
    )
    .await;
    assert_eq!(saved.status(), 303);
    let item = format!("service:{service}");
    let line = send_form(
        &app,
        &owner,
        &format!("{path}/line"),
        &[("item", &item), ("quantity", "1"), ("staff", &staff)],
    )
    .await;
    assert_eq!(line.status(), 303);
    assert_eq!(
        send_form(&app, &owner, &format!("{path}/finalize"), &[])
            .await
            .status(),
        303
    );
    let invoice = html(page(&app, &owner, &path).await, 200).await;
    assert!(
        invoice.contains("<p class=\"when\">Marina Spa Supplies Pvt Ltd"),
        "{invoice}"
    );
    // ₹650 with GST in it, to another state: IGST 5% = ₹30.95 on ₹619.05.
    assert!(invoice.contains(">IGST<"), "{invoice}");
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM invoices WHERE customer_gstin = '33AAACH7409R1Z8' AND place_of_supply = '33'
                AND status = 'finalized' AND (totals->>'igst')::bigint = 3095 AND (totals->>'cgst')::bigint = 0
                AND (totals->>'taxable_value')::bigint = 61905",
            &[]
        )
        .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn the_owner_sets_reminder_times_and_words_a_message_in_hindi_from_the_messaging_page() {
    let app = TestApp::fresh().await;
    let owner = signed_up(&app, "vani-words").await;
    let shown = html(page(&app, &owner, "/app/messaging").await, 200).await;
    assert!(
        shown.contains("These are the installation's settings until you save your own."),
        "{shown}"
    );
    assert!(
        shown.contains("name=\"reminder_hours\" type=\"text\" value=\"24, 2\""),
        "{shown}"
    );
    assert!(shown.contains("None yet: every message goes out in ftry's own English wording."));
    assert!(
        shown.contains("<li>receipt (email): <code>{{client_name}}</code> <code>{{salon}}</code>"),
        "{shown}"
    );

    // A refusal keeps what was typed and names the field.
    let refused = html(
        send_form(
            &app,
            &owner,
            "/app/messaging",
            &[
                ("reminder_hours", "48, 3"),
                ("quiet_hours", "late"),
                ("language", "hi"),
                ("dlt_entity_id", ""),
            ],
        )
        .await,
        422,
    )
    .await;
    assert!(
        refused.contains("id=\"quiet_hours-error\">Must be local hours such as 21:00-08:00"),
        "{refused}"
    );
    assert!(refused.contains("name=\"reminder_hours\" type=\"text\" value=\"48, 3\""));
    let saved = send_form(
        &app,
        &owner,
        "/app/messaging",
        &[
            ("reminder_hours", "48, 3"),
            ("quiet_hours", "22:00-07:00"),
            ("language", "hi"),
            ("dlt_entity_id", ""),
        ],
    )
    .await;
    assert_eq!(saved.status(), 303);
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM message_settings WHERE reminder_hours = '{48,3}' AND quiet_hours = '22:00-07:00'
               AND language = 'hi' AND dlt_entity_id IS NULL",
            &[]
        )
        .await,
        1
    );

    // A wording with a variable that does not exist is refused next to its text.
    let wording = |body: &'static str| {
        vec![
            ("event", "reminder"),
            ("channel", "email"),
            ("wording_language", "hi"),
            ("subject", "{{salon}}: याद दिलाना"),
            ("body", body),
            ("provider_template", ""),
            ("dlt_template_id", ""),
        ]
    };
    let refused = html(
        send_form(&app, &owner, "/app/messaging/wording", &wording("नमस्ते {{naam}}")).await,
        422,
    )
    .await;
    assert!(
        refused.contains("id=\"body-error\">`{{naam}}` is not a variable"),
        "{refused}"
    );
    assert!(refused.contains(">नमस्ते {{naam}}</textarea>"), "{refused}");
    let saved = send_form(
        &app,
        &owner,
        "/app/messaging/wording",
        &wording("नमस्ते {{client_name}}, {{date}} {{time}}"),
    )
    .await;
    assert_eq!(saved.status(), 303);
    let shown = html(
        page(&app, &owner, saved.headers()[LOCATION].to_str().unwrap()).await,
        200,
    )
    .await;
    assert!(shown.contains("Saved: the next messages use this wording."));
    assert!(
        shown.contains("<tr><td>reminder</td><td>email</td><td>hi</td>"),
        "{shown}"
    );
    let opened = html(
        page(&app, &owner, "/app/messaging?edit=reminder/email/hi").await,
        200,
    )
    .await;
    assert!(
        opened.contains(">नमस्ते {{client_name}}, {{date}} {{time}}</textarea>"),
        "{opened}"
    );
    let deleted = send_form(
        &app,
        &owner,
        "/app/messaging/wording/delete",
        &[("event", "reminder"), ("channel", "email"), ("language", "hi")],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM message_templates", &[]).await,
        0
    );
    app.stop().await;
}

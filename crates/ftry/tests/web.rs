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
    let cookies = set_cookies(&response);
    let browser = Browser {
        cookie: format!(
            "ftry_access={}; ftry_csrf={}",
            cookie_value(&cookies, "ftry_access"),
            cookie_value(&cookies, "ftry_csrf")
        ),
        csrf: cookie_value(&cookies, "ftry_csrf"),
    };
    (response, Some(browser))
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
        .split("<article class=\"item st-booked r15 s9\">")
        .nth(1)
        .unwrap_or_else(|| panic!("no booking on rows 15–23: {page_html}"));
    let item = item.split("</article>").next().unwrap();
    assert!(item.contains("<time>10:15–11:00</time>"), "{item}");
    assert!(item.contains("<strong>Neha Kulkarni</strong>") && item.contains("<span>Haircut</span>"));
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
    assert!(
        day_page.contains("<strong>Farah Shaikh</strong>") && day_page.contains("<time>10:00–10:45</time>")
    );

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

//! Journeys through the web app in a real browser (headless Chromium over
//! WebDriver), at a front-desk screen and on a phone. Screenshots of every
//! step are saved under `target/tmp/browser/`.

mod support;

use serde_json::json;
use support::browser::Browser;
use support::salon::{day, pune, Salon, Service, Setup};
use support::{body, post, TestApp};

const SERVICES: &[Service] = &[
    Service::new("Haircut", 45, 60_000),
    Service::new("Head massage", 30, 40_000),
];

async fn salon_with_a_booking(app: &TestApp, stylists: usize) -> Salon {
    let salon = Salon::create(
        app,
        Setup {
            name: "Gulmohar Salon",
            stylists,
            categories: &[],
            services: SERVICES,
            chairs: 0,
        },
    )
    .await;
    let booked = post(
        app,
        salon.token(),
        "/api/v1/appointments",
        &json!({
            "location_id": salon.location, "client_id": salon.client, "start": pune(day(1), 11, 0),
            "items": [{"service_id": salon.services[0], "staff_id": salon.stylists[0]},
                      {"service_id": salon.services[1], "staff_id": salon.stylists[0]}],
        }),
    )
    .await;
    body(booked, 201).await;
    salon
}

/// Sign in as the owner from the day of the booking (tomorrow: a booking
/// is never in the past, whenever the tests run), which opens after.
async fn sign_in(browser: &mut Browser, app: &TestApp, salon: &Salon) {
    browser
        .goto(&app.url(&format!("/app/calendar?date={}", day(1))))
        .await;
    browser.wait_for_url("/login?next=").await;
    browser.screenshot("sign-in").await;
    browser.type_into("#email", &salon.business.owner_email).await;
    browser
        .type_into("#password", &salon.business.owner_password)
        .await;
    browser.click("button.primary").await;
    browser.wait_for_path("/app/calendar").await;
}

#[tokio::test]
async fn the_front_desk_signs_in_reads_the_day_moves_between_days_and_signs_out() {
    let app = TestApp::fresh().await;
    let salon = salon_with_a_booking(&app, 2).await;
    let mut browser = Browser::start("front-desk-day", 1280, 800).await;

    // A wrong password first: the reason next to the form.
    browser.goto(&app.url("/login")).await;
    browser.type_into("#email", &salon.business.owner_email).await;
    browser.type_into("#password", "wrong-password-entirely").await;
    browser.click("button.primary").await;
    assert_eq!(browser.text(".error").await, "The email or password is wrong.");
    browser.screenshot("wrong-password").await;

    sign_in(&mut browser, &app, &salon).await;
    browser.screenshot("calendar-booked-day").await;
    assert_eq!(browser.count("section.col").await, 2);
    assert_eq!(browser.count("article.item").await, 2);
    let first = browser.text("article.item").await;
    assert!(
        first.starts_with("11:00–11:45\nNeha Kulkarni\nHaircut\nBooked"),
        "{first:?}"
    );
    assert_eq!(browser.text("#summary").await, "2 services booked.");
    // The two services of the visit sit one under the other in Stylist 0's column.
    let placed = browser
        .eval(
            "const items = [...document.querySelectorAll('article.item')].map(e => e.getBoundingClientRect());
             return [items[0].bottom <= items[1].top + 2, Math.round((items[1].height + 2) / (items[0].height + 2) * 100)];",
        )
        .await;
    assert_eq!(
        placed,
        json!([true, 67]),
        "the massage (30 min) is two thirds the haircut (45 min)"
    );
    // The hour gutter lines up with the rows: the 11:00 visit starts level
    // with the 11:00 mark (its 1 px margin apart).
    let level = browser
        .eval(
            "const mark = [...document.querySelectorAll('.times span')].find(s => s.textContent === '11:00');
             return Math.round(document.querySelector('article.item').getBoundingClientRect().top
                               - mark.getBoundingClientRect().top);",
        )
        .await;
    assert_eq!(level, json!(1));

    browser.click("a[rel=next]").await;
    browser.wait_for_url(&format!("date={}", day(2))).await;
    assert_eq!(browser.count("article.item").await, 0);
    assert_eq!(browser.text("#summary").await, "Nothing booked.");
    browser.screenshot("calendar-next-day").await;

    // The access cookie runs out; its session renews itself from the sign-in page.
    browser.delete_cookie("ftry_access").await;
    browser
        .goto(&app.url(&format!("/app/calendar?date={}", day(1))))
        .await;
    browser
        .wait_for_url(&format!("/app/calendar?date={}", day(1)))
        .await;
    assert_eq!(browser.count("article.item").await, 2);

    browser.click(".signout button").await;
    browser.wait_for_url("/login").await;
    browser.goto(&app.url("/app/calendar")).await;
    browser.wait_for_url("/login?next=").await;
    browser.screenshot("signed-out").await;
    assert_eq!(browser.count("#password").await, 1);
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn on_a_phone_the_day_fits_the_screen_and_its_columns_scroll_sideways() {
    let app = TestApp::fresh().await;
    let salon = salon_with_a_booking(&app, 5).await;
    let mut browser = Browser::start("phone-day", 360, 740).await;
    sign_in(&mut browser, &app, &salon).await;
    browser.screenshot("calendar-phone").await;
    let widths = browser
        .eval(
            "const day = document.querySelector('.day');
             const columns = [...document.querySelectorAll('section.col')].map(c => c.getBoundingClientRect().width);
             return [window.innerWidth, document.documentElement.scrollWidth <= window.innerWidth,
                     day.scrollWidth > day.clientWidth,
                     columns.length, columns.every(w => w >= 128)];",
        )
        .await;
    assert_eq!(
        widths,
        json!([360, true, true, 5, true]),
        "the page fits 360 px; the five staff columns keep a readable width and scroll inside it"
    );
    assert_eq!(browser.text("#summary").await, "2 services booked.");
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn the_front_desk_books_from_a_free_spot_and_a_clash_shows_next_to_the_time() {
    let app = TestApp::fresh().await;
    let salon = salon_with_a_booking(&app, 2).await;
    // Tall enough to hold the whole day (09:00–21:00), so a click lands where it is aimed.
    let mut browser = Browser::start("book-from-calendar", 1280, 1900).await;
    sign_in(&mut browser, &app, &salon).await;

    // Stylist 1's column, a little after 11:00 (row 24.5 of the day's 144).
    browser
        .click_at("section.col:nth-of-type(2) .slots", 24.5 / 144.0)
        .await;
    browser.wait_for_path("/app/appointments/new").await;
    let url = browser.url().await;
    assert!(
        url.ends_with(&format!("date={}&staff={}&time=11:00", day(1), salon.stylists[1])),
        "{url}"
    );
    browser.type_into("#phone", "9812345678").await;
    browser.select("#service_0", &salon.services[1].to_string()).await;
    browser.screenshot("booking-form").await;
    browser.click("button.primary").await;
    browser.wait_for_path("/app/calendar").await;
    assert_eq!(browser.text("#summary").await, "3 services booked.");
    let booked = browser.text("section.col:nth-of-type(2) article.item").await;
    assert!(
        booked.starts_with("11:00–11:30\nNeha Kulkarni\nHead massage"),
        "{booked:?}"
    );
    browser.screenshot("booked").await;

    // Picking a service and a stylist offers their free starts that day:
    // Stylist 0 is busy 11:00–12:15, so a 45-minute haircut cannot start at
    // 11:30, and can at 12:15; a pressed start fills in the field.
    browser.click("section.col:nth-of-type(1) h2 a.book").await;
    browser.wait_for_path("/app/appointments/new").await;
    browser.select("#service_0", &salon.services[0].to_string()).await;
    browser.wait_for_text("#free-times p", "Free that day:").await;
    let offered = browser
        .eval("return [...document.querySelectorAll('#free-times button')].map(b => b.textContent);")
        .await;
    let offered: Vec<String> = serde_json::from_value(offered).unwrap();
    assert!(
        offered.contains(&"12:15".to_owned()) && !offered.contains(&"11:30".to_owned()),
        "{offered:?}"
    );
    browser.click_text("#free-times button", "12:15").await;
    assert_eq!(
        browser
            .eval("return document.querySelector('#time').value;")
            .await,
        json!("12:15")
    );
    browser.screenshot("free-times").await;
    browser.click(".actions a").await;
    browser.wait_for_path("/app/calendar").await;

    // Stylist 0 is busy 11:00–12:15: the form says so next to the start time.
    browser.click("section.col:nth-of-type(1) h2 a.book").await;
    browser.wait_for_path("/app/appointments/new").await;
    browser.type_into("#phone", "+91 98765 00001").await;
    browser.type_into("#name", "Rohan Mehta").await;
    browser.select("#service_0", &salon.services[0].to_string()).await;
    browser
        .eval("document.querySelector('#time').value = '11:30'; return true;")
        .await;
    browser.click("button.primary").await;
    assert_eq!(
        browser.text("#time-error").await,
        "Service 1: the staff member is not free then."
    );
    assert_eq!(
        browser
            .eval("return document.querySelector('#time').getAttribute('aria-invalid');")
            .await,
        json!("true")
    );
    browser.screenshot("clash").await;
    assert_eq!(
        support::count(&app, "SELECT count(*) FROM appointments", &[]).await,
        2
    );
    // Refused, so Rohan was not added either: the client comes with the booking or not at all.
    assert_eq!(support::count(&app, "SELECT count(*) FROM clients", &[]).await, 1);

    // From the day, the new booking's page: Neha arrives and is checked in.
    browser.click(".actions a").await;
    browser.wait_for_path("/app/calendar").await;
    browser
        .click("section.col:nth-of-type(2) article.item strong a")
        .await;
    browser.wait_for_path("/app/appointments/").await;
    assert_eq!(browser.text("h1 .badge").await, "Booked");
    browser.click("button[value=checked_in]").await;
    browser.wait_for_text("h1 .badge", "Checked in").await;
    browser.screenshot("checked-in").await;
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn on_a_phone_the_setup_and_till_pages_fit_the_screen() {
    let app = TestApp::fresh().await;
    let salon = salon_with_a_booking(&app, 2).await;
    let mut browser = Browser::start("phone-setup", 360, 740).await;
    sign_in(&mut browser, &app, &salon).await;
    for (path, heading) in [
        ("/app/business", "Business and billing"),
        ("/app/roles", "Roles"),
        ("/app/resources", "Rooms and chairs"),
        ("/app/till", "Till"),
        ("/app/webhooks", "Integrations"),
        ("/app/audit", "Audit log"),
    ] {
        browser.goto(&app.url(path)).await;
        browser.wait_for_path(path).await;
        assert!(browser.text("h1").await.starts_with(heading), "{path}");
        let fits = browser
            .eval("return document.documentElement.scrollWidth <= window.innerWidth;")
            .await;
        assert_eq!(fits, json!(true), "{path} is wider than the phone");
        browser.screenshot(path.trim_start_matches("/app/")).await;
    }
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn the_front_desk_drags_a_service_to_another_stylist_and_time_and_a_clash_is_refused() {
    let app = TestApp::fresh().await;
    let salon = salon_with_a_booking(&app, 2).await;
    let mut browser = Browser::start("drag-to-move", 1280, 1900).await;
    sign_in(&mut browser, &app, &salon).await;
    let visit = || async {
        let mut db = support::admin(&app).await;
        let items: Vec<(String, uuid::Uuid, String)> = sqlx::query_as(
            "SELECT s.name, i.staff_id, to_char(i.starts_at AT TIME ZONE 'Asia/Kolkata', 'HH24:MI')
               FROM appointment_items i JOIN services s ON s.id = i.service_id ORDER BY i.starts_at",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        items
    };
    let (first, second) = (salon.stylists[0], salon.stylists[1]);
    assert_eq!(
        visit().await,
        vec![
            ("Haircut".to_owned(), first, "11:00".to_owned()),
            ("Head massage".to_owned(), first, "11:45".to_owned())
        ]
    );
    browser.screenshot("before").await;

    // The head massage (30 min) dropped on the other stylist at 14:00: its
    // middle lands at row 63 of the day's 144 (09:00–21:00); the visit moves
    // with it and the haircut keeps its stylist.
    browser
        .drag(
            "section.col:nth-of-type(1) article.item:nth-of-type(2)",
            "section.col:nth-of-type(2) .slots",
            63.0 / 144.0,
        )
        .await;
    browser.wait_for_text("#summary", "2 services booked.").await;
    browser
        .wait_for_text("section.col:nth-of-type(2) article.item time", "14:00–14:30")
        .await;
    assert_eq!(
        visit().await,
        vec![
            ("Haircut".to_owned(), first, "13:15".to_owned()),
            ("Head massage".to_owned(), second, "14:00".to_owned())
        ]
    );
    assert!(browser
        .url()
        .await
        .contains(&format!("/app/calendar?date={}", day(1))));
    browser.screenshot("dragged").await;

    // The other stylist is booked at 16:00: the haircut dropped there is refused
    // on the appointment's page, next to its move form, and nothing moves.
    body(
        post(
            &app,
            salon.token(),
            "/api/v1/appointments",
            &json!({
                "location_id": salon.location, "client_id": salon.client, "start": pune(day(1), 16, 0),
                "items": [{"service_id": salon.services[1], "staff_id": second}],
            }),
        )
        .await,
        201,
    )
    .await;
    browser.goto(&browser.url().await).await;
    browser.wait_for_text("#summary", "3 services booked.").await;
    browser
        .drag(
            "section.col:nth-of-type(1) article.item",
            "section.col:nth-of-type(2) .slots",
            88.5 / 144.0,
        )
        .await;
    browser.wait_for_path("/app/appointments/").await;
    assert_eq!(
        browser.text("#move-error").await,
        "Service 1: the staff member is not free then."
    );
    browser.screenshot("clash").await;
    assert_eq!(
        visit().await[..2],
        [
            ("Haircut".to_owned(), first, "13:15".to_owned()),
            ("Head massage".to_owned(), second, "14:00".to_owned())
        ]
    );
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn a_client_books_on_the_salon_page_from_a_phone_and_moves_and_cancels_through_the_private_link() {
    let app = TestApp::fresh().await;
    let salon = salon_with_a_booking(&app, 2).await;
    let mut browser = Browser::start("client-books-online", 360, 740).await;
    let tomorrow = day(1);

    browser.goto(&app.url(&format!("/{}", salon.business.slug))).await;
    assert_eq!(browser.text("h1").await, "Gulmohar Salon");
    browser.screenshot("services").await;
    browser
        .click(&format!("input[value=\"{}\"]", salon.services[0]))
        .await;
    browser.click("button.primary").await;
    browser.wait_for_url("/times?").await;
    browser.click(&format!("a[href$=\"date={tomorrow}\"]")).await;
    browser.wait_for_url(&format!("date={tomorrow}")).await;
    assert_eq!(
        browser.text(".day-strip a[aria-current]").await,
        tomorrow.format("%a %-d %b").to_string()
    );
    // Open 09:00–21:00 and nothing booked tomorrow: the first free time is 09:00.
    assert_eq!(browser.text("a.time").await, "09:00");
    browser.screenshot("times").await;
    browser.click("a.time").await;
    browser.wait_for_url("/details?").await;
    browser.type_into("#name", "Kavya Iyer").await;
    browser.type_into("#phone", "+91 98450 12345").await;
    browser.screenshot("details").await;
    browser.click("button.primary").await;
    browser.wait_for_url("/b/").await;
    assert_eq!(browser.text("h1 .badge").await, "Booked");
    assert_eq!(
        browser.text(".when").await,
        format!("{} at 09:00", tomorrow.format("%A, %-d %B %Y"))
    );
    browser.screenshot("booked").await;
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM appointments a JOIN clients c ON c.id = a.client_id
              WHERE a.source = 'online' AND c.name = 'Kavya Iyer' AND a.status = 'booked'",
            &[]
        )
        .await,
        1
    );
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(fits, json!(true), "the booking pages fit a 360 px phone");

    // The private link moves it to the day after, at its first free time.
    let after = day(2);
    browser.click(&format!("a[href$=\"date={after}#move\"]")).await;
    browser.wait_for_url(&format!("date={after}")).await;
    assert_eq!(browser.text("button.time").await, "09:00");
    browser.screenshot("move-times").await;
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await;
    assert_eq!(fits, json!(true), "the times fit a 360 px phone");
    browser.click("button.time").await;
    browser.wait_for_url("?moved").await;
    assert_eq!(
        browser.text(".when").await,
        format!("{} at 09:00", after.format("%A, %-d %B %Y"))
    );
    assert_eq!(browser.text("p.done").await, "Moved. The new time is above.");

    // And cancels it.
    browser.type_into("#reason", "Travelling that day").await;
    browser.click("button.danger").await;
    browser.wait_for_text("h1 .badge", "Cancelled").await;
    assert_eq!(browser.count("button.danger").await, 0);
    browser.screenshot("cancelled").await;
    assert_eq!(
        support::count(
            &app,
            "SELECT count(*) FROM appointments WHERE source = 'online' AND status = 'cancelled'
                AND cancel_reason = 'Travelling that day' AND cancelled_by = 'client'",
            &[]
        )
        .await,
        1
    );
    browser.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn the_reception_desk_cannot_open_the_revenue_report() {
    let app = TestApp::fresh().await;
    let salon = salon_with_a_booking(&app, 2).await;
    let (_, _, email) = app
        .add_member(salon.token(), &salon.business.tenant_id, &["receptionist"])
        .await;
    let mut browser = Browser::start("reception-no-revenue", 1280, 800).await;
    browser.goto(&app.url("/login")).await;
    browser.type_into("#email", &email).await;
    browser.type_into("#password", "copper-kettle-monsoon-77").await;
    browser.click("button.primary").await;
    browser.wait_for_path("/app/calendar").await;
    browser
        .goto(&app.url(&format!("/app/calendar?date={}", day(1))))
        .await;
    // The desk works the calendar, and its navigation has no revenue.
    assert_eq!(browser.count("article.item").await, 2);
    assert_eq!(browser.count("a[href=\"/app/reports/revenue\"]").await, 0);
    browser.screenshot("reception-calendar").await;
    browser.goto(&app.url("/app/reports/revenue")).await;
    assert_eq!(browser.text("h1").await, "Not allowed");
    browser.screenshot("revenue-refused").await;
    browser.quit().await;
    app.stop().await;
}

/// Journey (a): a new salon signs up, opens its doors (hours), adds a
/// service and a stylist, books a client from a free spot of the calendar,
/// checks the visit out with a payment split between cash and UPI, and opens
/// the invoice's PDF.
#[tokio::test]
async fn a_new_salon_signs_up_sets_up_books_checks_out_a_split_payment_and_opens_the_pdf() {
    let app = TestApp::fresh().await;
    let mut browser = Browser::start("sign-up-to-paid-invoice", 1280, 1900).await;

    browser.goto(&app.url("/login")).await;
    browser.click("a[href='/signup']").await;
    browser.wait_for_url("/signup").await;
    browser.type_into("#business_name", "Mogra Hair & Spa").await;
    browser.type_into("#slug", "mogra").await;
    browser.type_into("#branch", "Aundh").await;
    browser.select("#state_code", "27").await;
    browser.type_into("#gstin", "27AAACR5055K1Z7").await;
    browser.type_into("#owner_name", "Sunita Deshmukh").await;
    browser.type_into("#email", "sunita@mogra.example.com").await;
    browser.type_into("#password", "jasmine-kettle-harbour-58").await;
    browser.screenshot("sign-up").await;
    browser.click("button.primary").await;
    browser.wait_for_path("/app/branch").await;
    assert_eq!(
        browser.text("p.error").await,
        "No opening hours yet: nothing can be booked here until they are saved."
    );
    browser.screenshot("no-hours-yet").await;
    // Every day 10:00–20:00 is offered: saved as it is.
    browser.click("button.primary").await;
    browser.wait_for_text("p.done", "Opening hours saved.").await;

    browser.click(".subnav a[href='/app/services']").await;
    browser.wait_for_path("/app/services").await;
    browser.type_into("#name", "Haircut and blow-dry").await;
    browser.type_into("#minutes", "60").await;
    browser.type_into("#price", "900").await;
    browser.select("#tax_code", "999721").await;
    browser.click("button.primary").await;
    browser
        .wait_for_text("p.done", "Added “Haircut and blow-dry”.")
        .await;
    browser.screenshot("service-added").await;

    browser.click(".subnav a[href='/app/staff']").await;
    browser.wait_for_path("/app/staff").await;
    browser.type_into("#name", "Kavya Nair").await;
    browser.click("input[name=service]").await;
    // Monday to Saturday are ticked for a new person; Sunday too.
    browser.click("input[name=day][value='7']").await;
    browser
        .eval("document.querySelector('#to').value = '20:00'; return true;")
        .await;
    browser.click("button.primary").await;
    browser.wait_for_text("p.done", "Added Kavya Nair.").await;
    let row = browser.text("table.lines tbody tr").await;
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>().join(" "),
        "Kavya Nair Haircut and blow-dry Mon–Sun 10:00–20:00 Change"
    );
    browser.screenshot("stylist-added").await;

    // Tomorrow's calendar: a click a little after 11:00 in Kavya's column
    // (the day runs 10:00–20:00 in 120 rows of five minutes).
    browser
        .goto(&app.url(&format!("/app/calendar?date={}", day(1))))
        .await;
    browser
        .click_at("section.col:nth-of-type(1) .slots", 12.5 / 120.0)
        .await;
    browser.wait_for_path("/app/appointments/new").await;
    assert!(
        browser.url().await.ends_with("&time=11:00"),
        "{}",
        browser.url().await
    );
    browser.type_into("#phone", "98500 12345").await;
    browser.type_into("#name", "Ananya Kulkarni").await;
    let service: String = {
        let mut db = support::admin(&app).await;
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM services")
            .fetch_one(&mut db)
            .await
            .unwrap();
        id.to_string()
    };
    browser.select("#service_0", &service).await;
    browser.click("button.primary").await;
    browser.wait_for_path("/app/calendar").await;
    browser
        .click("section.col:nth-of-type(1) article.item strong a")
        .await;
    browser.wait_for_path("/app/appointments/").await;
    browser.screenshot("appointment").await;

    // Check out: ₹900, GST included (₹21.43 CGST and ₹21.43 SGST).
    browser.click("form[action$='/checkout'] button").await;
    browser.wait_for_path("/app/invoices/").await;
    assert_eq!(browser.text("#grand-total").await, "₹900.00");
    browser.screenshot("draft-invoice").await;
    browser.click("form[action$='/finalize'] button").await;
    browser.wait_for_text("h1 .badge", "Finalized").await;
    assert!(browser.text("h1").await.starts_with("Invoice "));
    assert_eq!(browser.text("#due").await, "₹900.00");

    // ₹500 in cash, then the rest (offered as the amount) by UPI.
    browser.select("#method", "cash").await;
    browser.type_into("#amount", "500").await;
    browser.click("form[action$='/pay'] button").await;
    browser.wait_for_text("#due", "₹400.00").await;
    assert_eq!(
        browser
            .eval("return document.querySelector('#amount').value;")
            .await,
        json!("400")
    );
    browser.select("#method", "upi").await;
    browser.type_into("#reference", "UPI-20261207-88").await;
    browser.click("form[action$='/pay'] button").await;
    browser.wait_for_text("#due", "₹0.00").await;
    assert_eq!(browser.text("h1 .pay-true").await, "Paid");
    assert_eq!(browser.count("#payments tbody tr").await, 2);
    browser.screenshot("paid").await;

    // The PDF: what the "Open the PDF" link serves, fetched by the page itself.
    let pdf = browser
        .eval(
            "return fetch(document.querySelector('#pdf').href).then(r => r.arrayBuffer().then(b => \
             [r.status, r.headers.get('content-type'), String.fromCharCode(...new Uint8Array(b).slice(0, 5))]));",
        )
        .await;
    assert_eq!(pdf, json!([200, "application/pdf", "%PDF-"]));
    browser.click("#pdf").await;
    browser.wait_for_url("/pdf").await;
    browser.screenshot("pdf").await;
    browser.quit().await;
    app.stop().await;
}

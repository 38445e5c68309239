//! The printable documents of an invoice: the PDF.

mod support;

use reqwest::Method;
use support::TestApp;

#[tokio::test]
async fn a_finalized_invoice_downloads_as_a_well_formed_pdf_with_its_number_and_amount_in_words() {
    let app = TestApp::fresh().await;
    let business = app.signup("Document Salon").await;
    let token = &business.access_token;
    let mut db = app.db.as_ref().unwrap().admin().await;
    sqlx::query("UPDATE locations SET gstin = '27AAACR5055K1Z7' WHERE id = $1::uuid")
        .bind(&business.location_id)
        .execute(&mut db)
        .await
        .unwrap();
    let draft: serde_json::Value = app
        .authed(Method::POST, "/api/v1/invoices", token)
        .json(&serde_json::json!({"location_id": business.location_id, "customer": {"name": "Meera (Walk-in)"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = draft["id"].as_str().unwrap().to_owned();
    let added = app
        .authed(Method::POST, &format!("/api/v1/invoices/{id}/lines"), token)
        .json(
            &serde_json::json!({"kind": "custom", "description": "Bridal trial", "code": "999722",
                                  "unit_price_paise": 105000}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let finalized: serde_json::Value = app
        .authed(Method::POST, &format!("/api/v1/invoices/{id}/finalize"), token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = finalized["number"].as_str().unwrap().to_owned();

    let response = app
        .authed(Method::GET, &format!("/api/v1/invoices/{id}/pdf"), token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap().to_vec();
    let text = String::from_utf8_lossy(&pdf).to_string();
    assert!(text.starts_with("%PDF-1.4\n"));
    assert!(text.ends_with("%%EOF\n"));
    for expected in [
        format!("(Number: {number})"),
        "(TAX INVOICE)".into(),
        "(GSTIN: 27AAACR5055K1Z7)".into(),
        "(Place of supply: 27 \\(Maharashtra\\))".into(),
        "(Billed to: Meera \\(Walk-in\\))".into(),
        "(Rupees One Thousand Fifty Only)".into(),
    ] {
        assert!(text.contains(&expected), "{expected} missing");
    }
    // Every cross-reference entry points at its object.
    let xref = text.rfind("\nxref\n").unwrap() + 1;
    let startxref: usize = text
        .split("startxref\n")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(startxref, xref);
    let entries: Vec<&str> = text[xref..]
        .lines()
        .skip(3)
        .take_while(|l| l.ends_with(" n "))
        .collect();
    assert_eq!(
        entries.len(),
        6,
        "catalog, pages, two fonts, one page and its content"
    );
    for (n, entry) in entries.iter().enumerate() {
        let offset: usize = entry[..10].parse().unwrap();
        assert!(
            text[offset..].starts_with(&format!("{} 0 obj\n", n + 1)),
            "object {}",
            n + 1
        );
    }

    let other = app.signup("Other Salon").await;
    let foreign = app
        .authed(
            Method::GET,
            &format!("/api/v1/invoices/{id}/pdf"),
            &other.access_token,
        )
        .send()
        .await
        .unwrap();
    support::problem(foreign, 404, "not_found").await;
    app.stop().await;
}

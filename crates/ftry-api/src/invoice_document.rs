//! The printable tax invoice: supplier, number and date, place of supply,
//! customer, lines with SAC/HSN, taxable value and CGST/SGST/IGST, totals in
//! figures and in words. Plain semantic HTML: the content security policy
//! allows no inline style, and a browser prints tables well enough.

use ftry_app::invoices::InvoiceView;
use ftry_domain::money::Paise;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn money(paise: Option<i64>) -> String {
    Paise(paise.unwrap_or(0)).to_string()
}

pub fn render(view: &InvoiceView) -> String {
    let invoice = &view.invoice;
    let supplier = invoice.supplier.clone().unwrap_or_default();
    let text = |v: &serde_json::Value| esc(v.as_str().unwrap_or(""));
    let totals = invoice.totals.clone().unwrap_or_default();
    let total = |name: &str| money(totals[name].as_i64());
    let title = match (invoice.kind.as_str(), invoice.document_kind.as_deref()) {
        ("credit_note", _) => "Credit note",
        (_, Some("bill_of_supply")) => "Bill of supply",
        (_, Some("tax_invoice")) => "Tax invoice",
        _ => "Draft invoice",
    };
    let mut rows = String::new();
    for (i, line) in view.lines.iter().enumerate() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            esc(&line.description),
            esc(&line.code),
            line.quantity,
            money(Some(line.unit_price_paise)),
            money(line.taxable_paise),
            line.rate_bp.unwrap_or(0) as f64 / 100.0,
            money(line.cgst_paise),
            money(line.sgst_paise),
            money(line.igst_paise),
            money(line.total_paise),
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} {number}</title></head><body>\
         <header><h1>{title}</h1><p><strong>{name}</strong><br>{address}<br>GSTIN: {gstin}</p></header>\
         <table><tr><th>Number</th><td>{number}</td></tr><tr><th>Date</th><td>{date}</td></tr>\
         <tr><th>Place of supply</th><td>{pos} ({pos_name})</td></tr>\
         <tr><th>Billed to</th><td>{customer}<br>{customer_address}{customer_gstin}</td></tr></table>\
         <table border=\"1\" cellpadding=\"4\"><thead><tr><th>#</th><th>Description</th><th>SAC/HSN</th><th>Qty</th>\
         <th>Rate</th><th>Taxable value</th><th>GST</th><th>CGST</th><th>SGST</th><th>IGST</th><th>Amount</th></tr></thead>\
         <tbody>{rows}</tbody></table>\
         <table><tr><th>Taxable value</th><td>{taxable}</td></tr><tr><th>CGST</th><td>{cgst}</td></tr>\
         <tr><th>SGST</th><td>{sgst}</td></tr><tr><th>IGST</th><td>{igst}</td></tr><tr><th>Tip</th><td>{tip}</td></tr>\
         <tr><th>Round-off</th><td>{round_off}</td></tr><tr><th>Total</th><td><strong>{grand}</strong></td></tr></table>\
         <p>{words}</p><footer><p>This is a computer-generated document.</p></footer></body></html>",
        number = esc(invoice.number.as_deref().unwrap_or("(draft)")),
        name = text(&supplier["name"]),
        address = text(&supplier["address"]),
        gstin = text(&supplier["gstin"]),
        date = invoice.issued_on.map(|d| d.format("%d-%m-%Y").to_string()).unwrap_or_default(),
        pos = esc(&invoice.place_of_supply),
        pos_name = ftry_domain::gstin::state_name(&invoice.place_of_supply).unwrap_or(""),
        customer = esc(&invoice.customer_name),
        customer_address = esc(&invoice.customer_address),
        customer_gstin = invoice.customer_gstin.as_deref().map(|g| format!("<br>GSTIN: {}", esc(g))).unwrap_or_default(),
        taxable = total("taxable_value"),
        cgst = total("cgst"),
        sgst = total("sgst"),
        igst = total("igst"),
        tip = total("tip"),
        round_off = total("round_off"),
        grand = total("grand_total"),
        words = text(&totals["amount_in_words"]),
    )
}

//! The tax invoice as a PDF: A4 pages of text in the standard Helvetica
//! fonts (no font files to embed), written directly. The rupee sign is not in
//! those fonts, so amounts read "Rs.".

use ftry_app::invoices::InvoiceView;
use ftry_domain::money::Paise;

const PAGE_WIDTH: f32 = 595.0;
const PAGE_HEIGHT: f32 = 842.0;
const MARGIN: f32 = 40.0;
const LINE_HEIGHT: f32 = 13.0;

/// One piece of text on a row: bold or regular, size, x, and the text.
#[derive(Clone)]
struct Text {
    bold: bool,
    size: f32,
    x: f32,
    text: String,
}

fn text(bold: bool, size: f32, x: f32, text: impl Into<String>) -> Vec<Text> {
    vec![Text {
        bold,
        size,
        x,
        text: text.into(),
    }]
}

fn amount(paise: Option<i64>) -> String {
    Paise(paise.unwrap_or(0)).to_string().replace('₹', "Rs. ")
}

/// PDF string literal: Latin-1 only, with ( ) \ escaped.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('(');
    for c in text.replace('₹', "Rs.").chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if (' '..='~').contains(&c) => out.push(c),
            c if (c as u32) >= 0xA0 && (c as u32) <= 0xFF => out.push_str(&format!("\\{:03o}", c as u32)),
            _ => out.push('?'),
        }
    }
    out.push(')');
    out
}

/// The rows of the document, each a set of texts on one line.
fn rows(view: &InvoiceView) -> Vec<Vec<Text>> {
    let invoice = &view.invoice;
    let supplier = invoice.supplier.clone().unwrap_or_default();
    let field = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let totals = invoice.totals.clone().unwrap_or_default();
    let total = |name: &str| amount(totals[name].as_i64());
    let title = match (invoice.kind.as_str(), invoice.document_kind.as_deref()) {
        ("credit_note", _) => "CREDIT NOTE",
        (_, Some("bill_of_supply")) => "BILL OF SUPPLY",
        (_, Some("tax_invoice")) => "TAX INVOICE",
        _ => "DRAFT INVOICE",
    };
    let mut rows = vec![
        text(true, 16.0, MARGIN, title),
        vec![],
        text(true, 11.0, MARGIN, field(&supplier["name"])),
        text(false, 9.0, MARGIN, field(&supplier["address"])),
        text(
            false,
            9.0,
            MARGIN,
            format!("GSTIN: {}", field(&supplier["gstin"])),
        ),
        vec![],
        text(
            false,
            9.0,
            MARGIN,
            format!("Number: {}", invoice.number.as_deref().unwrap_or("(draft)")),
        ),
        text(
            false,
            9.0,
            MARGIN,
            format!(
                "Date: {}",
                invoice
                    .issued_on
                    .map(|d| d.format("%d-%m-%Y").to_string())
                    .unwrap_or_default()
            ),
        ),
        text(
            false,
            9.0,
            MARGIN,
            format!(
                "Place of supply: {} ({})",
                invoice.place_of_supply,
                ftry_domain::gstin::state_name(&invoice.place_of_supply).unwrap_or("")
            ),
        ),
        text(
            false,
            9.0,
            MARGIN,
            format!("Billed to: {}", invoice.customer_name),
        ),
    ];
    if let Some(gstin) = &invoice.customer_gstin {
        rows.push(text(false, 9.0, MARGIN, format!("Customer GSTIN: {gstin}")));
    }
    if !invoice.customer_address.is_empty() {
        rows.push(text(false, 9.0, MARGIN, invoice.customer_address.clone()));
    }
    rows.push(vec![]);
    let columns = [MARGIN, 60.0, 230.0, 275.0, 300.0, 370.0, 405.0, 465.0, 525.0];
    let header = [
        "#",
        "Description",
        "SAC/HSN",
        "Qty",
        "Taxable",
        "GST",
        "CGST+SGST",
        "IGST",
        "Amount",
    ];
    rows.push(
        header
            .iter()
            .zip(columns)
            .flat_map(|(h, x)| text(true, 8.0, x, *h))
            .collect(),
    );
    for (i, line) in view.lines.iter().enumerate() {
        let description: String = line.description.chars().take(32).collect();
        let cells = [
            (i + 1).to_string(),
            description,
            line.code.clone(),
            line.quantity.to_string(),
            amount(line.taxable_paise),
            format!("{}%", line.rate_bp.unwrap_or(0) as f64 / 100.0),
            amount(Some(line.cgst_paise.unwrap_or(0) + line.sgst_paise.unwrap_or(0))),
            amount(line.igst_paise),
            amount(line.total_paise),
        ];
        rows.push(
            cells
                .into_iter()
                .zip(columns)
                .flat_map(|(c, x)| text(false, 8.0, x, c))
                .collect(),
        );
    }
    rows.push(vec![]);
    for (label, name) in [
        ("Taxable value", "taxable_value"),
        ("CGST", "cgst"),
        ("SGST", "sgst"),
        ("IGST", "igst"),
        ("Tip", "tip"),
        ("Round-off", "round_off"),
    ] {
        rows.push(
            [
                text(false, 9.0, 380.0, label),
                text(false, 9.0, 480.0, total(name)),
            ]
            .concat(),
        );
    }
    rows.push(
        [
            text(true, 10.0, 380.0, "Total"),
            text(true, 10.0, 480.0, total("grand_total")),
        ]
        .concat(),
    );
    rows.push(vec![]);
    rows.push(text(false, 9.0, MARGIN, field(&totals["amount_in_words"])));
    rows.push(vec![]);
    rows.push(text(false, 7.0, MARGIN, "This is a computer-generated document."));
    rows
}

pub fn render(view: &InvoiceView) -> Vec<u8> {
    let per_page = ((PAGE_HEIGHT - 2.0 * MARGIN) / LINE_HEIGHT) as usize;
    let all = rows(view);
    let pages: Vec<&[Vec<Text>]> = all.chunks(per_page.max(1)).collect();
    let mut objects: Vec<String> = Vec::new();
    // 1 catalog, 2 pages, 3-4 fonts, then a page and its content per page.
    let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
    objects.push(format!(
        "<< /Type /Pages /Kids [{}] /Count {} >>",
        kids.join(" "),
        pages.len()
    ));
    objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".into());
    objects.push(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".into(),
    );
    for (i, page) in pages.iter().enumerate() {
        let mut content = String::new();
        for (row, texts) in page.iter().enumerate() {
            let y = PAGE_HEIGHT - MARGIN - LINE_HEIGHT * (row as f32 + 1.0);
            for t in texts {
                content.push_str(&format!(
                    "BT /F{} {} Tf {:.1} {:.1} Td {} Tj ET\n",
                    if t.bold { 2 } else { 1 },
                    t.size,
                    t.x,
                    y,
                    literal(&t.text)
                ));
            }
        }
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
             /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * i
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ));
    }
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_and_stay_latin_1() {
        assert_eq!(literal("a (b) \\ c"), "(a \\(b\\) \\\\ c)");
        assert_eq!(literal("₹1,050.00"), "(Rs.1,050.00)");
        assert_eq!(literal("Café"), "(Caf\\351)");
        assert_eq!(literal("नमस्ते"), "(??????)");
    }
}

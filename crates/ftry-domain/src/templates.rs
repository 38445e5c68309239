//! A business's own wording of its messages to clients: text with
//! `{{variable}}` placeholders, checked when it is saved and filled when a
//! message goes out.
//!
//! Substitution is one pass over the parsed template: a value is inserted as
//! it is and never read as a template itself, so a client named
//! `{{manage_link}}` is greeted by that name and nothing else. In HTML, the
//! template's own text and every value are escaped; only the link variables
//! become links.

use std::fmt;

/// What a message may say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variable {
    ClientName,
    Salon,
    Branch,
    Services,
    Staff,
    /// The visit's local date, `12/12/2026`.
    Date,
    /// The visit's local time, `10:30`.
    Time,
    /// The visit's local date and time in words (English).
    When,
    /// The page where the client sees, moves or cancels the visit.
    ManageLink,
    InvoiceNumber,
    /// The document's total, `₹1,180.00`.
    Total,
    /// The document's PDF.
    InvoiceLink,
}

impl Variable {
    pub const ALL: [Variable; 12] = [
        Variable::ClientName,
        Variable::Salon,
        Variable::Branch,
        Variable::Services,
        Variable::Staff,
        Variable::Date,
        Variable::Time,
        Variable::When,
        Variable::ManageLink,
        Variable::InvoiceNumber,
        Variable::Total,
        Variable::InvoiceLink,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variable::ClientName => "client_name",
            Variable::Salon => "salon",
            Variable::Branch => "branch",
            Variable::Services => "services",
            Variable::Staff => "staff",
            Variable::Date => "date",
            Variable::Time => "time",
            Variable::When => "when",
            Variable::ManageLink => "manage_link",
            Variable::InvoiceNumber => "invoice_number",
            Variable::Total => "total",
            Variable::InvoiceLink => "invoice_link",
        }
    }

    pub fn parse(name: &str) -> Option<Variable> {
        Variable::ALL.into_iter().find(|v| v.name() == name)
    }

    fn is_link(self) -> bool {
        matches!(self, Variable::ManageLink | Variable::InvoiceLink)
    }
}

/// The messages a business can word, and what each may say.
pub const EVENTS: [&str; 6] = [
    "booking_confirmed",
    "reminder",
    "rescheduled",
    "cancelled",
    "no_show_follow_up",
    "receipt",
];

/// The variables a message of `event` can fill.
pub fn variables(event: &str) -> &'static [Variable] {
    const VISIT: &[Variable] = &[
        Variable::ClientName,
        Variable::Salon,
        Variable::Branch,
        Variable::Services,
        Variable::Staff,
        Variable::Date,
        Variable::Time,
        Variable::When,
        Variable::ManageLink,
    ];
    const RECEIPT: &[Variable] = &[
        Variable::ClientName,
        Variable::Salon,
        Variable::InvoiceNumber,
        Variable::Total,
        Variable::InvoiceLink,
    ];
    match event {
        "receipt" => RECEIPT,
        e if EVENTS.contains(&e) => VISIT,
        _ => &[],
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Value(Variable),
}

/// A checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{{` at this character (counted from 1) is never closed.
    Unclosed(usize),
    /// `{{name}}` names no variable.
    Unknown(String),
    /// The variable exists, but this message has no value for it.
    NotHere(String),
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Unclosed(at) => {
                write!(f, "the `{{{{` at character {at} is not closed with `}}}}`")
            }
            TemplateError::Unknown(name) => write!(f, "`{{{{{name}}}}}` is not a variable"),
            TemplateError::NotHere(name) => {
                write!(f, "`{{{{{name}}}}}` has no value in this message")
            }
        }
    }
}

impl std::error::Error for TemplateError {}

impl Template {
    /// Parse `text`, accepting only the variables in `allowed`.
    pub fn parse(text: &str, allowed: &[Variable]) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                let at = text.len() - rest.len() + open;
                return Err(TemplateError::Unclosed(text[..at].chars().count() + 1));
            };
            let name = after[..close].trim();
            let variable = Variable::parse(name).ok_or_else(|| TemplateError::Unknown(name.to_owned()))?;
            if !allowed.contains(&variable) {
                return Err(TemplateError::NotHere(name.to_owned()));
            }
            parts.push(Part::Value(variable));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    pub fn uses(&self, variable: Variable) -> bool {
        self.parts.contains(&Part::Value(variable))
    }

    /// The text with every variable's value.
    pub fn render(&self, value: impl Fn(Variable) -> String) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Value(variable) => value(*variable),
            })
            .collect()
    }

    /// The text as HTML paragraphs: a blank line starts a paragraph, a line
    /// break is kept; everything escaped, links clickable.
    pub fn render_html(&self, value: impl Fn(Variable) -> String) -> String {
        let mut html = String::from("<p>");
        for part in &self.parts {
            match part {
                Part::Text(text) => {
                    let escaped = escape_html(text.trim_end_matches('\n'));
                    html.push_str(&escaped.replace("\n\n", "</p><p>").replace('\n', "<br>"));
                    if text.ends_with("\n\n") {
                        html.push_str("</p><p>");
                    } else if text.ends_with('\n') {
                        html.push_str("<br>");
                    }
                }
                Part::Value(variable) if variable.is_link() => {
                    let url = escape_html(&value(*variable));
                    html.push_str(&format!("<a href=\"{url}\">{url}</a>"));
                }
                Part::Value(variable) => html.push_str(&escape_html(&value(*variable))),
            }
        }
        html.push_str("</p>");
        html.replace("<p></p>", "")
    }
}

/// Text made safe to place in HTML, also inside a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A language code as messages are kept under: `en`, `hi`, `mr`, `pt-BR`.
pub fn is_language(code: &str) -> bool {
    let (language, region) = match code.split_once('-') {
        Some((l, r)) => (l, Some(r)),
        None => (code, None),
    };
    (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_lowercase())
        && region.is_none_or(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: Variable) -> String {
        match v {
            Variable::ClientName => "Ravi <b>".into(),
            Variable::Salon => "Asha's".into(),
            Variable::ManageLink => "https://salon.example/b/x?a=1&b=2".into(),
            other => format!("[{}]", other.name()),
        }
    }

    #[test]
    fn variables_are_filled_once_and_values_are_never_read_as_templates() {
        let t = Template::parse(
            "नमस्ते {{client_name}}, {{ salon }} में {{date}} {{time}}",
            variables("reminder"),
        )
        .unwrap();
        assert_eq!(t.render(values), "नमस्ते Ravi <b>, Asha's में [date] [time]");
        let sneaky = Template::parse("Hi {{client_name}}", variables("reminder")).unwrap();
        assert_eq!(sneaky.render(|_| "{{manage_link}}".into()), "Hi {{manage_link}}");
        assert!(t.uses(Variable::Date));
        assert!(!t.uses(Variable::ManageLink));
    }

    #[test]
    fn a_template_names_what_is_wrong_with_it() {
        let visit = variables("booking_confirmed");
        assert_eq!(
            Template::parse("Hi {{client_nme}}", visit),
            Err(TemplateError::Unknown("client_nme".into()))
        );
        assert_eq!(
            Template::parse("Your bill {{invoice_number}}", visit),
            Err(TemplateError::NotHere("invoice_number".into()))
        );
        assert_eq!(
            Template::parse("नमस्ते {{client_name", visit),
            Err(TemplateError::Unclosed(8))
        );
        assert_eq!(
            TemplateError::Unknown("x".into()).to_string(),
            "`{{x}}` is not a variable"
        );
        assert_eq!(
            TemplateError::Unclosed(3).to_string(),
            "the `{{` at character 3 is not closed with `}}`"
        );
        assert_eq!(
            Template::parse("single { braces } are text", visit)
                .unwrap()
                .render(values),
            "single { braces } are text"
        );
        assert!(variables("birthday").is_empty());
    }

    #[test]
    fn html_escapes_the_template_and_its_values_and_links_only_links() {
        let t = Template::parse(
            "Hello {{client_name}},\n\n<i>see</i> you at {{salon}}.\nManage: {{manage_link}}\n",
            variables("reminder"),
        )
        .unwrap();
        assert_eq!(
            t.render_html(values),
            "<p>Hello Ravi &lt;b&gt;,</p><p>&lt;i&gt;see&lt;/i&gt; you at Asha&#39;s.<br>Manage: \
             <a href=\"https://salon.example/b/x?a=1&amp;b=2\">https://salon.example/b/x?a=1&amp;b=2</a><br></p>"
        );
    }

    #[test]
    fn language_codes() {
        for good in ["en", "hi", "mr", "kok", "pt-BR"] {
            assert!(is_language(good), "{good}");
        }
        for bad in ["", "EN", "english", "hi_IN", "hi-in", "h1"] {
            assert!(!is_language(bad), "{bad}");
        }
    }
}

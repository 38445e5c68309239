//! Tenant identity: the URL slug a salon is known by.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a slug is 2–63 lowercase letters, digits and single hyphens, e.g. lotus-salon")]
pub struct InvalidSlug;

/// Words that can never be a salon's slug: they are, or may become, ftry's own paths.
/// Addresses of ftry's own pages, which a salon's booking page would hide.
const RESERVED: [&str; 18] = [
    "api",
    "admin",
    "app",
    "assets",
    "auth",
    "book",
    "docs",
    "health",
    "invite",
    "login",
    "logout",
    "metrics",
    "password-reset",
    "platform",
    "signup",
    "static",
    "status",
    "www",
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, InvalidSlug> {
        let ok = (2..=63).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.starts_with('-')
            && !text.ends_with('-')
            && !text.contains("--")
            && !RESERVED.contains(&text);
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidSlug)
        }
    }

    /// A slug from a business name: "Lotus Salon & Spa" → `lotus-salon-spa`.
    /// Letters outside ASCII are dropped; `None` when nothing usable is left.
    pub fn from_name(name: &str) -> Option<Self> {
        let mut slug = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= 50 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        Self::parse(slug)
            .or_else(|_| Self::parse(&format!("{slug}-salon")))
            .ok()
    }

    /// The n-th alternative when this slug is taken: `lotus-salon-2`, `-3`...
    pub fn numbered(&self, n: u32) -> Self {
        Self(format!("{}-{n}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_slugs() {
        let slug = |name| Slug::from_name(name).map(|s| s.0);
        assert_eq!(slug("Lotus Salon & Spa"), Some("lotus-salon-spa".into()));
        assert_eq!(
            slug("  The Hair Studio (Pune) "),
            Some("the-hair-studio-pune".into())
        );
        assert_eq!(slug("Api"), Some("api-salon".into()));
        assert_eq!(slug("नमस्ते"), None);
        assert_eq!(slug(&"Long ".repeat(40)).map(|s| s.len() <= 63), Some(true));
    }

    #[test]
    fn explicit_slugs_are_checked() {
        assert!(Slug::parse("lotus-salon").is_ok());
        for bad in [
            "a",
            "Lotus",
            "lotus--salon",
            "-lotus",
            "lotus-",
            "lotus salon",
            "admin",
            "static",
        ] {
            assert_eq!(Slug::parse(bad), Err(InvalidSlug), "{bad:?}");
        }
    }

    #[test]
    fn taken_slugs_get_numbered_alternatives() {
        assert_eq!(Slug::parse("lotus").unwrap().numbered(2).as_str(), "lotus-2");
    }
}

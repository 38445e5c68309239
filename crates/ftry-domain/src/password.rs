//! The password policy: long enough, not absurdly long, not a common
//! password and not built from the account's own name or email.

/// Passwords people commonly choose that are long enough to pass the length
/// rule. Compared after lowercasing.
const COMMON: &str = include_str!("common_passwords.txt");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeakPassword {
    #[error("use at least 12 characters")]
    TooShort,
    #[error("use at most 128 characters")]
    TooLong,
    #[error("this password is too common; choose a phrase of a few unrelated words")]
    Common,
    #[error("do not build the password from your name, email or business name")]
    Personal,
}

/// Check a new password; `personal` holds the account's own words (name,
/// email local part, business name) that must not make up the password.
pub fn check(password: &str, personal: &[&str]) -> Result<(), WeakPassword> {
    let length = password.chars().count();
    if length < 12 {
        return Err(WeakPassword::TooShort);
    }
    if length > 128 {
        return Err(WeakPassword::TooLong);
    }
    let folded = password.to_lowercase();
    if COMMON
        .lines()
        .map(str::trim)
        .any(|common| !common.is_empty() && folded == common)
    {
        return Err(WeakPassword::Common);
    }
    let core: String = folded.chars().filter(|c| c.is_alphanumeric()).collect();
    let repeats = core.chars().all(|c| core.starts_with(c));
    if repeats {
        return Err(WeakPassword::Common);
    }
    for word in personal {
        // For an email, the part before the @ is what people reuse.
        let word = word.split('@').next().unwrap_or(word);
        let word: String = word
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect();
        // The password is mostly this word: stripping it leaves little.
        if word.len() >= 4 && core.contains(&word) && core.len() - word.len() < 6 {
            return Err(WeakPassword::Personal);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_unusual_passwords_pass() {
        assert_eq!(
            check("teal-comb-monsoon-42", &["Priya", "priya@example.com"]),
            Ok(())
        );
        let long: String = "éclair-ñandú-".repeat(10).chars().take(128).collect();
        assert_eq!(check(&long, &[]), Ok(()));
        assert_eq!(check(&format!("{long}x"), &[]), Err(WeakPassword::TooLong));
        assert_eq!(check("सैलून-का-दिन-सुहाना", &[]), Ok(()));
    }

    #[test]
    fn length_is_counted_in_characters() {
        assert_eq!(check("short-pass1", &[]), Err(WeakPassword::TooShort));
        assert_eq!(check(&"ab".repeat(65), &[]), Err(WeakPassword::TooLong));
    }

    #[test]
    fn common_and_repetitive_passwords_fail() {
        assert_eq!(check("Password1234", &[]), Err(WeakPassword::Common));
        assert_eq!(check("qwertyuiop123", &[]), Err(WeakPassword::Common));
        assert_eq!(check("aaaaaaaaaaaaaaaa", &[]), Err(WeakPassword::Common));
    }

    #[test]
    fn passwords_made_of_personal_words_fail() {
        assert_eq!(
            check("LotusSalon2024!", &["Lotus Salon"]),
            Err(WeakPassword::Personal)
        );
        assert_eq!(
            check("priyasharma123", &["priyasharma@example.com"]),
            Err(WeakPassword::Personal)
        );
    }
}

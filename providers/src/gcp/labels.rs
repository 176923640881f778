//! Labels and the description.
//!
//! GCP labels are lowercase: keys start with a lowercase letter and hold lowercase letters,
//! digits, `_` and `-` (international lowercase letters too), values the same (possibly
//! empty), each at most 63 characters, at most 64 labels. keygate's labels that break these
//! rules are [`Error::InvalidArgument`], never rewritten.
//!
//! A CryptoKey has no description field, so the description lives in reserved labels
//! `keygate-description-0`, `-1`, ... (hidden from [`KeyMetadata::labels`]). Their values
//! hold the description *escaped*: lowercase ASCII letters, digits and `-` stand for
//! themselves; every other byte of its UTF-8 is `_` followed by two lowercase hex digits
//! (`"Payments API"` → `_50ayments_20_41_50_49`). The escaped text is cut into 63-character
//! labels, never inside an escape, at most [`MAX_DESCRIPTION_LABELS`] of them.
//!
//! [`KeyMetadata::labels`]: keygate_core::KeyMetadata::labels

use std::collections::HashMap;

use keygate_core::{Error, Labels, Result};

/// The prefix of the labels that hold the description.
pub(crate) const DESCRIPTION_PREFIX: &str = "keygate-description-";
/// Longest label key or value.
const MAX_LABEL_CHARS: usize = 63;
/// Most labels on one resource.
const MAX_LABELS: usize = 64;
/// Most labels the description may take.
pub(crate) const MAX_DESCRIPTION_LABELS: usize = 8;

fn label_char(c: char) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || c == '_'
        || c == '-'
        || (!c.is_ascii() && c.is_lowercase())
}

/// Checks keygate labels against GCP's rules and the reserved prefix.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the first label that does not fit.
pub(crate) fn check(labels: &Labels) -> Result<()> {
    for (k, v) in labels {
        if k.starts_with(DESCRIPTION_PREFIX) {
            return Err(Error::invalid(format!(
                "label `{k}`: labels starting with `{DESCRIPTION_PREFIX}` are reserved (keygate keeps the description in them)"
            )));
        }
        let key_ok = k.chars().next().is_some_and(|c| c.is_lowercase())
            && k.chars().count() <= MAX_LABEL_CHARS
            && k.chars().all(label_char);
        if !key_ok {
            return Err(Error::invalid(format!(
                "label key `{k}` does not fit GCP: start with a lowercase letter, then at most 62 lowercase letters, digits, `_` or `-`"
            )));
        }
        if v.chars().count() > MAX_LABEL_CHARS || !v.chars().all(label_char) {
            return Err(Error::invalid(format!(
                "label `{k}`: value `{v}` does not fit GCP: at most 63 lowercase letters, digits, `_` or `-`"
            )));
        }
    }
    Ok(())
}

/// The escaped description, cut into label values.
fn escape(description: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for b in description.bytes() {
        let piece = if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' {
            char::from(b).to_string()
        } else {
            format!("_{b:02x}")
        };
        if current.len() + piece.len() > MAX_LABEL_CHARS {
            chunks.push(std::mem::take(&mut current));
        }
        current.push_str(&piece);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The description held by escaped `chunks` (in order); `None` when they are not an escaping
/// keygate made.
fn unescape(chunks: &[&str]) -> Option<String> {
    let joined: String = chunks.concat();
    let mut bytes = Vec::with_capacity(joined.len());
    let mut it = joined.bytes();
    while let Some(b) = it.next() {
        if b == b'_' {
            let hex = [it.next()?, it.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            bytes.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).ok()
}

/// The GCP labels of keygate `labels` and `description`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a label that does not fit GCP (see [`check`]), a description
/// longer than [`MAX_DESCRIPTION_LABELS`] labels can hold, or more than 64 labels in all.
pub(crate) fn to_gcp(labels: &Labels, description: &str) -> Result<HashMap<String, String>> {
    check(labels)?;
    let chunks = escape(description);
    if chunks.len() > MAX_DESCRIPTION_LABELS {
        return Err(Error::invalid(format!(
            "the description is too long for GCP: keygate keeps it in at most {MAX_DESCRIPTION_LABELS} labels of 63 characters (a lowercase letter, digit or `-` takes one, any other byte three)"
        )));
    }
    let mut out: HashMap<String, String> = labels.clone().into_iter().collect();
    for (i, chunk) in chunks.into_iter().enumerate() {
        out.insert(format!("{DESCRIPTION_PREFIX}{i}"), chunk);
    }
    if out.len() > MAX_LABELS {
        return Err(Error::invalid(format!(
            "GCP keeps at most {MAX_LABELS} labels on a key (the description takes {} of them)",
            out.len() - labels.len()
        )));
    }
    Ok(out)
}

/// keygate's labels and description from GCP labels. Description labels that keygate did not
/// write (not decodable) are left among the labels.
pub(crate) fn from_gcp(gcp: &HashMap<String, String>) -> (Labels, String) {
    let mut labels = Labels::new();
    let mut parts: Vec<(usize, &str)> = Vec::new();
    for (k, v) in gcp {
        match k
            .strip_prefix(DESCRIPTION_PREFIX)
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(n) => parts.push((n, v)),
            None => {
                labels.insert(k.clone(), v.clone());
            }
        }
    }
    parts.sort_unstable();
    let contiguous = parts.iter().enumerate().all(|(i, (n, _))| i == *n);
    let chunks: Vec<&str> = parts.iter().map(|(_, v)| *v).collect();
    match unescape(&chunks).filter(|_| contiguous) {
        Some(description) => (labels, description),
        None => {
            for (n, v) in parts {
                labels.insert(format!("{DESCRIPTION_PREFIX}{n}"), v.to_owned());
            }
            (labels, String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn descriptions_roundtrip_through_labels() {
        let user = labels(&[("team", "payments"), ("env", "")]);
        for description in [
            "",
            "before",
            "after update",
            "conformance key of spec HMAC_SHA256",
            "Clé de l'équipe paiements — ünïcode",
            &"x".repeat(8 * 63),
            &"Y".repeat(8 * 21),
        ] {
            let gcp = to_gcp(&user, description).unwrap();
            for (k, v) in &gcp {
                assert!(
                    k.chars().count() <= 63 && v.chars().count() <= 63,
                    "{k}={v}"
                );
                assert!(v.chars().all(label_char), "{v}");
            }
            assert_eq!(from_gcp(&gcp), (user.clone(), description.to_owned()));
        }
        assert_eq!(
            escape("Payments API"),
            ["_50ayments_20_41_50_49".to_owned()]
        );
    }

    #[test]
    fn labels_gcp_refuses_are_invalid_arguments() {
        for bad in [
            labels(&[("Team", "x")]),
            labels(&[("1team", "x")]),
            labels(&[("team", "Payments")]),
            labels(&[("team", "a b")]),
            labels(&[(&"k".repeat(64), "x")]),
            labels(&[("team", &"v".repeat(64))]),
            labels(&[("keygate-description-0", "x")]),
        ] {
            let err = to_gcp(&bad, "").unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{bad:?}");
        }
        assert!(to_gcp(&Labels::new(), &"x".repeat(8 * 63 + 1)).is_err());
        let many: Labels = (0..64).map(|i| (format!("l{i}"), String::new())).collect();
        assert!(to_gcp(&many, "").is_ok());
        assert!(to_gcp(&many, "d").is_err());
    }

    #[test]
    fn foreign_description_labels_stay_labels() {
        let gcp: HashMap<String, String> =
            [("keygate-description-0".to_owned(), "_zz".to_owned())].into();
        let (labels, description) = from_gcp(&gcp);
        assert_eq!(description, "");
        assert_eq!(
            labels.get("keygate-description-0").map(String::as_str),
            Some("_zz")
        );
    }
}

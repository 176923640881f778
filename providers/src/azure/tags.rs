//! keygate's metadata in Key Vault tags.
//!
//! Labels are tags. A few tags whose names start with `keygate-` carry what Key Vault has no
//! field for: the keygate spec (`keygate-spec`, so an AES_256 envelope key held as an RSA key
//! reads back as AES_256), the usage (`keygate-usage`) and the description
//! (`keygate-description`). They are hidden from `labels`, and a label key starting with
//! `keygate-` is refused. Keys made outside keygate have none of them: their spec and usage
//! come from the JWK (see `client.rs`).

use std::collections::HashMap;

use keygate_core::{Error, KeySpec, KeyUsage, Labels, Result};

/// The prefix of the tags keygate reserves.
pub(crate) const RESERVED_PREFIX: &str = "keygate-";
/// The keygate spec.
pub(crate) const SPEC: &str = "keygate-spec";
/// The keygate usage.
pub(crate) const USAGE: &str = "keygate-usage";
/// The description.
pub(crate) const DESCRIPTION: &str = "keygate-description";
/// Key Vault's longest tag value, in characters.
pub(crate) const MAX_VALUE_CHARS: usize = 256;
/// Key Vault's most tags on one key.
pub(crate) const MAX_TAGS: usize = 15;

/// What keygate reads from a key's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Read {
    /// The labels (every tag but the reserved ones).
    pub labels: Labels,
    /// The description (empty when none).
    pub description: String,
    /// The spec keygate recorded, when the tag holds one it knows.
    pub spec: Option<KeySpec>,
    /// The usage keygate recorded.
    pub usage: Option<KeyUsage>,
}

/// Reads keygate's view of `tags`.
pub(crate) fn read(tags: Option<&HashMap<String, String>>) -> Read {
    let mut out = Read::default();
    for (k, v) in tags.into_iter().flatten() {
        match k.as_str() {
            SPEC => out.spec = v.parse().ok(),
            USAGE => out.usage = usage(v),
            DESCRIPTION => out.description = v.clone(),
            _ if k.starts_with(RESERVED_PREFIX) => {}
            _ => {
                out.labels.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

fn usage(s: &str) -> Option<KeyUsage> {
    [KeyUsage::Encrypt, KeyUsage::Sign, KeyUsage::Mac]
        .into_iter()
        .find(|u| u.as_str() == s)
}

/// Checks labels keygate is asked to set: no reserved key, no empty key, values within Key
/// Vault's bounds.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the label.
pub(crate) fn check_labels(labels: &Labels) -> Result<()> {
    for (k, v) in labels {
        if k.is_empty() {
            return Err(Error::invalid("a label key is empty"));
        }
        if k.starts_with(RESERVED_PREFIX) {
            return Err(Error::invalid(format!(
                "label `{k}`: keys starting with `{RESERVED_PREFIX}` are reserved for keygate's own tags"
            )));
        }
        if v.chars().count() > MAX_VALUE_CHARS {
            return Err(Error::invalid(format!(
                "the value of label `{k}` is longer than Key Vault's {MAX_VALUE_CHARS} characters"
            )));
        }
    }
    Ok(())
}

/// The tags of a key with `labels`, `description`, and keygate's `spec` and `usage`.
///
/// # Errors
/// [`Error::InvalidArgument`] for a reserved or oversized label, a description longer than
/// a tag value, or more tags than Key Vault keeps.
pub(crate) fn write(
    labels: &Labels,
    description: &str,
    spec: KeySpec,
    usage: KeyUsage,
) -> Result<HashMap<String, String>> {
    check_labels(labels)?;
    if description.chars().count() > MAX_VALUE_CHARS {
        return Err(Error::invalid(format!(
            "Key Vault keeps the description in a tag: at most {MAX_VALUE_CHARS} characters"
        )));
    }
    let mut tags: HashMap<String, String> = labels.clone().into_iter().collect();
    tags.insert(SPEC.to_owned(), spec.as_str().to_owned());
    tags.insert(USAGE.to_owned(), usage.as_str().to_owned());
    if !description.is_empty() {
        tags.insert(DESCRIPTION.to_owned(), description.to_owned());
    }
    if tags.len() > MAX_TAGS {
        return Err(Error::invalid(format!(
            "Key Vault keeps at most {MAX_TAGS} tags per key, and keygate uses {} of them: at most {} labels",
            tags.len() - labels.len(),
            MAX_TAGS - (tags.len() - labels.len())
        )));
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_tags_roundtrip_and_stay_out_of_labels() {
        let mut labels = Labels::new();
        labels.insert("team".into(), "payments".into());
        let tags = write(
            &labels,
            "the payments key",
            KeySpec::Aes256,
            KeyUsage::Encrypt,
        )
        .unwrap();
        assert_eq!(tags.get(SPEC).map(String::as_str), Some("AES_256"));
        assert_eq!(tags.get(USAGE).map(String::as_str), Some("encrypt"));
        let back = read(Some(&tags));
        assert_eq!(back.labels, labels);
        assert_eq!(back.description, "the payments key");
        assert_eq!(back.spec, Some(KeySpec::Aes256));
        assert_eq!(back.usage, Some(KeyUsage::Encrypt));
        // No description: no tag.
        let tags = write(&labels, "", KeySpec::EcP256, KeyUsage::Sign).unwrap();
        assert!(!tags.contains_key(DESCRIPTION));
        // Unknown reserved tags are hidden too; unknown values read as absent.
        let mut odd = HashMap::new();
        odd.insert("keygate-future".to_owned(), "x".to_owned());
        odd.insert(SPEC.to_owned(), "DSA_1024".to_owned());
        let back = read(Some(&odd));
        assert!(back.labels.is_empty());
        assert_eq!(back.spec, None);
        assert_eq!(read(None), Read::default());
    }

    #[test]
    fn reserved_oversized_and_too_many_labels_are_refused() {
        let one = |k: &str, v: &str| Labels::from([(k.to_owned(), v.to_owned())]);
        for bad in [
            one("keygate-spec", "RSA_2048"),
            one("keygate-anything", "x"),
            one("", "x"),
            one("k", &"v".repeat(257)),
        ] {
            assert!(check_labels(&bad).is_err(), "{bad:?}");
        }
        assert!(check_labels(&one("k", &"v".repeat(256))).is_ok());
        let many: Labels = (0..13).map(|i| (format!("l{i}"), "v".to_owned())).collect();
        let err = write(&many, "d", KeySpec::Aes256, KeyUsage::Encrypt).unwrap_err();
        assert!(err.to_string().contains("at most 12 labels"), "{err}");
        assert!(write(&many, "", KeySpec::Aes256, KeyUsage::Encrypt).is_ok());
        let long = "d".repeat(257);
        assert!(write(&Labels::new(), &long, KeySpec::Aes256, KeyUsage::Encrypt).is_err());
    }
}

//! The token format, `kgt_<id>.<secret>`: minting, parsing and hashing, apart from storage.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::{Error, Result};
use zeroize::Zeroizing;

/// What every token starts with, so scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "kgt_";

const ID_BYTES: usize = 6;
/// Random bytes in a secret: 256 bits, so its plain SHA-256 is safe to store.
pub(super) const SECRET_BYTES: usize = 32;
/// `kgt_` + 12 hex + `.` + 43 base64url characters; anything else is rejected before any
/// other work.
pub(super) const TOKEN_LEN: usize = TOKEN_PREFIX.len() + 2 * ID_BYTES + 1 + 43;

/// Checks a principal name: 1–128 characters of `A-Z a-z 0-9 . _ @ : -`.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the problem.
pub fn validate_principal(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 128 {
        return Err(Error::invalid("principal must be 1 to 128 characters long"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | ':' | '-')))
    {
        return Err(Error::invalid(format!(
            "principal `{name}` contains `{bad}`; use letters, digits, `.`, `_`, `@`, `:` and `-`"
        )));
    }
    Ok(())
}

/// SHA-256 of a secret: what the store keeps.
pub(super) fn secret_hash(secret: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, secret).as_ref());
    out
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut buf = Zeroizing::new([0u8; N]);
    aws_lc_rs::rand::fill(buf.as_mut())
        .map_err(|_| Error::unavailable("random number generator failed"))?;
    Ok(buf)
}

/// A fresh public token id: 12 lowercase hex characters.
pub(super) fn new_id() -> Result<String> {
    Ok(hex::encode(random::<ID_BYTES>()?.as_ref()))
}

/// A fresh secret.
pub(super) fn new_secret() -> Result<Zeroizing<[u8; SECRET_BYTES]>> {
    random::<SECRET_BYTES>()
}

/// The bearer token for `id` and `secret`.
pub(super) fn render(id: &str, secret: &[u8; SECRET_BYTES]) -> Zeroizing<String> {
    // Built in place with room reserved up front, so no reallocation leaves a stray copy of
    // the secret behind.
    let mut token = Zeroizing::new(String::with_capacity(TOKEN_LEN));
    token.push_str(TOKEN_PREFIX);
    token.push_str(id);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(secret, &mut token);
    token
}

/// Splits a presented token into its id and decoded secret; `None` for anything malformed.
pub(super) fn parse_token(bearer: &str) -> Option<(&str, Zeroizing<Vec<u8>>)> {
    if bearer.len() != TOKEN_LEN {
        return None;
    }
    let (id, secret) = bearer.strip_prefix(TOKEN_PREFIX)?.split_once('.')?;
    let id_ok = id.len() == 2 * ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !id_ok {
        return None;
    }
    let secret = Zeroizing::new(URL_SAFE_NO_PAD.decode(secret).ok()?);
    (secret.len() == SECRET_BYTES).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn minted_tokens_parse_back() {
        let id = new_id().unwrap();
        let secret = new_secret().unwrap();
        let token = render(&id, &secret);
        assert_eq!(token.len(), TOKEN_LEN);
        assert!(token.starts_with("kgt_"));
        let (parsed_id, parsed_secret) = parse_token(&token).unwrap();
        assert_eq!(parsed_id, id);
        assert_eq!(parsed_secret.as_slice(), secret.as_slice());
        // Fresh randomness each time.
        assert_ne!(new_id().unwrap(), id);
        assert_ne!(*new_secret().unwrap(), *secret);
    }

    #[test]
    fn only_exact_token_shapes_parse() {
        let secret = URL_SAFE_NO_PAD.encode([7u8; SECRET_BYTES]);
        let token = format!("kgt_0123456789ab.{secret}");
        let (id, bytes) = parse_token(&token).unwrap();
        assert_eq!(
            (id, bytes.as_slice()),
            ("0123456789ab", [7u8; SECRET_BYTES].as_slice())
        );
        let short = URL_SAFE_NO_PAD.encode([7u8; SECRET_BYTES - 1]);
        assert!(parse_token(&format!("kgt_0123456789ab.{short}")).is_none());
        assert!(parse_token(&format!("kgt_0123456789a.{secret}x")).is_none());
        assert!(parse_token(&format!("kgt_0123456789AB.{secret}")).is_none());
        // Standard base64 (`+`) is not base64url.
        assert!(parse_token(&format!("kgt_0123456789ab.+{}", &secret[1..])).is_none());
    }

    #[test]
    fn principals() {
        for good in [
            "billing",
            "alice@corp.example",
            "local:root",
            "svc-a_b.c",
            &"p".repeat(128),
        ] {
            validate_principal(good).unwrap();
        }
        for bad in ["", "two words", "ünï", "a/b", "a*", &"p".repeat(129)] {
            let err = validate_principal(bad).unwrap_err();
            assert_eq!(
                err.kind(),
                keygate_core::ErrorKind::InvalidArgument,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_stored_hash_is_sha256_of_the_secret() {
        let h = secret_hash(b"abc");
        assert_eq!(
            hex::encode(h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

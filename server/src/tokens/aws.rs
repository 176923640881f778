//! AWS access keys: the credentials the AWS KMS dialect verifies SigV4 signatures with.
//!
//! An access key is a token of kind [`TokenKind::Aws`] in the same table as bearer tokens, so
//! listing, revocation and expiry work the same way. Its id is the access key id
//! (`KGAK` + 16 characters of base32, the shape of an AWS `AKIA...` id) and its secret is 40
//! characters of base64, like an AWS secret access key.
//!
//! Unlike a bearer token, a SigV4 verifier needs the secret itself (it recomputes the
//! request's HMAC), so the secret cannot be kept only as a hash. The row keeps it sealed with
//! AES-256-GCM under a key derived (HKDF-SHA256) from the gateway root key, bound to its
//! access key id as additional data: a copy of the database alone yields no usable secret.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hkdf::{HKDF_SHA256, Salt};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keygate_core::access::Identity;
use keygate_core::api::{IssuedToken, TokenInfo, TokenKind, TokenRequest};
use keygate_core::{Error, Result};
use zeroize::Zeroizing;

use super::TokenAuthority;
use super::format::secret_hash;
use crate::store::ObjectWriter;

/// What every keygate access key id starts with.
pub const ACCESS_KEY_PREFIX: &str = "KGAK";
/// Length of an access key id (AWS ids are 20 characters too).
pub const ACCESS_KEY_ID_LEN: usize = 20;
/// Length of a secret access key (as AWS's).
pub const SECRET_ACCESS_KEY_LEN: usize = 40;
/// HKDF info of the sealing key; a new version of the scheme gets a new label.
const SEALING_INFO: &[u8] = b"keygate aws access key secrets v1";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// One message for every access key that cannot be used (unknown, revoked, expired, or a
/// secret that no longer opens), so callers learn nothing about which.
const UNRECOGNIZED: &str = "the security token included in the request is invalid";

/// Seals and opens secret access keys under a key derived from the gateway root key.
pub struct AccessKeySealer {
    key: LessSafeKey,
}

impl fmt::Debug for AccessKeySealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKeySealer(<redacted>)")
    }
}

impl AccessKeySealer {
    /// The sealer for `root_key` (the gateway's 32-byte root key).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the root key is empty.
    pub fn from_root_key(root_key: &[u8]) -> Result<Self> {
        if root_key.is_empty() {
            return Err(Error::invalid("the root key is empty"));
        }
        let prk = Salt::new(HKDF_SHA256, &[]).extract(root_key);
        let okm = prk
            .expand(&[SEALING_INFO], &AES_256_GCM)
            .map_err(|_| Error::invalid("cannot derive the access key sealing key"))?;
        Ok(Self {
            key: LessSafeKey::new(UnboundKey::from(okm)),
        })
    }

    /// `nonce || ciphertext+tag` of `secret`, bound to `access_key_id`.
    fn seal(&self, access_key_id: &str, secret: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| Error::unavailable("random number generator failed"))?;
        let mut sealed = secret.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(access_key_id.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| Error::unavailable("cannot seal an access key secret"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The secret sealed in `blob` for `access_key_id`.
    fn open(&self, access_key_id: &str, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if blob.len() < NONCE_LEN {
            return Err(Error::IntegrityFailure);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Error::IntegrityFailure)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = self
            .key
            .open_in_place(
                nonce,
                Aad::from(access_key_id.as_bytes()),
                buf.as_mut_slice(),
            )
            .map_err(|_| Error::IntegrityFailure)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

fn random_bytes<const N: usize>() -> Result<Zeroizing<[u8; N]>> {
    let mut buf = Zeroizing::new([0u8; N]);
    aws_lc_rs::rand::fill(buf.as_mut())
        .map_err(|_| Error::unavailable("random number generator failed"))?;
    Ok(buf)
}

/// A fresh access key id: `KGAK` and 16 base32 characters (80 random bits).
fn new_access_key_id() -> Result<String> {
    let bytes = random_bytes::<10>()?;
    let mut bits: u128 = 0;
    for b in bytes.iter() {
        bits = (bits << 8) | u128::from(*b);
    }
    let mut id = String::with_capacity(ACCESS_KEY_ID_LEN);
    id.push_str(ACCESS_KEY_PREFIX);
    for i in (0..16).rev() {
        let index = usize::try_from((bits >> (5 * i)) & 0x1f).unwrap_or(0);
        id.push(char::from(BASE32[index]));
    }
    Ok(id)
}

/// A fresh secret access key: 30 random bytes as 40 characters of base64.
fn new_secret_access_key() -> Result<Zeroizing<String>> {
    let bytes = random_bytes::<30>()?;
    let mut out = Zeroizing::new(String::with_capacity(SECRET_ACCESS_KEY_LEN));
    STANDARD.encode_string(bytes.as_ref(), &mut out);
    Ok(out)
}

/// True for a string shaped like a keygate access key id.
pub fn is_access_key_id(id: &str) -> bool {
    id.len() == ACCESS_KEY_ID_LEN
        && id.starts_with(ACCESS_KEY_PREFIX)
        && id.bytes().all(|b| BASE32.contains(&b))
}

impl TokenAuthority {
    /// Issues an AWS access key pair for `req` (already validated by the caller: principal,
    /// role and lifetime). The returned [`IssuedToken::token`] is the secret access key, shown
    /// only now; `info.id` is the access key id.
    pub(super) async fn create_aws(
        &self,
        req: &TokenRequest,
        created: time::OffsetDateTime,
        expires: Option<time::OffsetDateTime>,
        writer: &mut dyn ObjectWriter,
    ) -> Result<IssuedToken> {
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            Error::unsupported(
                "AWS access keys need the gateway root key, and this service was opened without one",
            )
        })?;
        let secret = new_secret_access_key()?;
        let hash = secret_hash(secret.as_bytes());
        let id = self
            .insert_fresh(
                writer,
                req,
                TokenKind::Aws,
                &hash,
                created,
                expires,
                new_access_key_id,
                |id| sealer.seal(id, secret.as_bytes()).map(Some),
            )
            .await?;
        Ok(IssuedToken {
            info: TokenInfo {
                id,
                principal: req.principal.clone(),
                role: req.role.clone(),
                created,
                expires,
                revoked: None,
                kind: TokenKind::Aws,
            },
            token: secret,
        })
    }

    /// The identity an access key stands for and its secret, to verify a SigV4 signature.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`], always with the same message, for an unknown, revoked or
    /// expired access key (or one whose secret no longer opens: another root key);
    /// [`Error::Unavailable`] when the store fails.
    pub async fn aws_credentials(
        &self,
        access_key_id: &str,
    ) -> Result<(Identity, Zeroizing<Vec<u8>>)> {
        let unrecognized = || Error::Unauthenticated(UNRECOGNIZED.to_owned());
        if !is_access_key_id(access_key_id) {
            return Err(unrecognized());
        }
        let Some(sealer) = &self.sealer else {
            return Err(unrecognized());
        };
        // A bearer token is not an access key, whatever it is presented as.
        let record = self
            .store
            .token(access_key_id)
            .await?
            .filter(|record| record.info.kind == TokenKind::Aws)
            .ok_or_else(unrecognized)?;
        let now = self.clock.now();
        let expired = record.info.expires.is_some_and(|expires| now >= expires);
        let revoked = record.info.revoked.is_some();
        if expired || revoked {
            return Err(unrecognized());
        }
        let secret = record
            .sealed_secret
            .and_then(|blob| sealer.open(access_key_id, &blob).ok())
            .ok_or_else(|| {
                tracing::warn!(
                    access_key_id,
                    "an AWS access key secret does not open under this root key"
                );
                unrecognized()
            })?;
        Ok((
            Identity {
                principal: record.info.principal,
                role: record.info.role,
            },
            secret,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::audit::tests::LogWriter;
    use crate::store::{GatewayStore, TokenRecords};
    use keygate_core::ErrorKind;
    use keygate_core::access::AccessPolicy;

    fn aws_req(principal: &str, days: Option<u32>) -> TokenRequest {
        TokenRequest {
            principal: principal.into(),
            role: "app".into(),
            expires_in_days: days,
            kind: TokenKind::Aws,
        }
    }

    async fn store(root: &[u8]) -> (Arc<dyn TokenRecords>, TokenAuthority, LogWriter) {
        let store = GatewayStore::in_memory().await.unwrap();
        let writer = LogWriter::on(&store).await;
        let db: Arc<dyn TokenRecords> = Arc::new(store);
        let tokens = TokenAuthority::new(Arc::clone(&db))
            .with_sealer(AccessKeySealer::from_root_key(root).unwrap());
        (db, tokens, writer)
    }

    #[test]
    fn ids_and_secrets_have_the_aws_shape() {
        let id = new_access_key_id().unwrap();
        assert!(is_access_key_id(&id), "{id}");
        assert_ne!(new_access_key_id().unwrap(), id);
        let secret = new_secret_access_key().unwrap();
        assert_eq!(secret.len(), SECRET_ACCESS_KEY_LEN);
        assert!(!is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!is_access_key_id("KGAK0000000000000000"), "0 is not base32");
    }

    #[tokio::test]
    async fn issue_list_authenticate_revoke() {
        let (db, tokens, mut w) = store(&[7u8; 32]).await;
        let policy = AccessPolicy::default();
        let issued = tokens
            .create(&aws_req("billing", None), &policy, &mut w)
            .await
            .unwrap();
        assert_eq!(issued.info.kind, TokenKind::Aws);
        assert!(is_access_key_id(&issued.info.id));
        let (who, secret) = tokens.aws_credentials(&issued.info.id).await.unwrap();
        assert_eq!(who.principal, "billing");
        assert_eq!(secret.as_slice(), issued.token.as_bytes());
        // Listed with its kind, never with its secret; the row holds no plaintext secret.
        let listed = tokens.list().await.unwrap();
        assert_eq!(listed, vec![issued.info.clone()]);
        let stored = db.token(&issued.info.id).await.unwrap().unwrap();
        let sealed = stored.sealed_secret.unwrap();
        let secret_bytes = issued.token.as_bytes();
        assert!(
            !sealed
                .windows(secret_bytes.len())
                .any(|w| w == secret_bytes)
        );
        // A bearer-token check never accepts an access key.
        let err = tokens.authenticate(&issued.token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        tokens.revoke(&issued.info.id, &mut w).await.unwrap();
        let err = tokens.aws_credentials(&issued.info.id).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[tokio::test]
    async fn another_root_key_or_unknown_id_is_unrecognized() {
        let (db, tokens, mut w) = store(&[7u8; 32]).await;
        let issued = tokens
            .create(&aws_req("a", Some(1)), &AccessPolicy::default(), &mut w)
            .await
            .unwrap();
        let other = TokenAuthority::new(db)
            .with_sealer(AccessKeySealer::from_root_key(&[8u8; 32]).unwrap());
        let e1 = other.aws_credentials(&issued.info.id).await.unwrap_err();
        let e2 = tokens
            .aws_credentials("KGAKAAAAAAAAAAAAAAAA")
            .await
            .unwrap_err();
        assert_eq!(e1.to_string(), e2.to_string());
        assert_eq!(e1.kind(), ErrorKind::Unauthenticated);
        assert!(!format!("{tokens:?}").contains(issued.token.as_str()));
    }

    #[tokio::test]
    async fn without_a_root_key_access_keys_are_unsupported() {
        let store = GatewayStore::in_memory().await.unwrap();
        let mut w = LogWriter::on(&store).await;
        let tokens = TokenAuthority::new(Arc::new(store));
        let err = tokens
            .create(&aws_req("a", None), &AccessPolicy::default(), &mut w)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
    }
}

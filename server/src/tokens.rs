//! API tokens: issued once, stored as hashes, compared in constant time.
//!
//! A token reads `kgt_<id>.<secret>`: `id` is 12 lowercase hex characters (public: it names
//! the token in listings, audit rows and `keygate token revoke`), `secret` is 32 random bytes
//! in unpadded base64url. The store keeps SHA-256 of the secret, never the secret. A plain
//! hash (no salt, no slow KDF) is enough because the secret is 256 bits of randomness: there
//! is nothing to guess, and a leaked table yields no usable token.
//!
//! Every authentication failure (malformed, unknown id, wrong secret, revoked, expired) is
//! the same [`Error::Unauthenticated`] with the same text, so a caller learns nothing about
//! which part was wrong.

mod aws;
mod format;

use std::sync::Arc;

use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::{IssuedToken, TokenInfo, TokenKind, TokenRequest};
use keygate_core::{Clock, Error, Result, SystemClock};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::store::{ObjectWrite, ObjectWriter, ObjectWritten, TokenRecord, TokenRecords};
use format::{new_id, new_secret, parse_token, render, secret_hash};

pub use aws::{ACCESS_KEY_PREFIX, AccessKeySealer, is_access_key_id};
pub use format::{TOKEN_PREFIX, validate_principal};

/// The longest lifetime a token can be issued for, in days (ten years).
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// The one message for every authentication failure (no oracle).
const AUTH_FAILED: &str = "invalid, expired or revoked token";
/// `last_used` is refreshed at most this often per token, so authenticating is a read, not
/// a write, on nearly every request.
const LAST_USED_GRANULARITY: Duration = Duration::minutes(1);

/// Issues, lists, revokes and checks API tokens (and AWS access keys), kept in the gateway
/// store.
#[derive(Debug, Clone)]
pub struct TokenAuthority {
    store: Arc<dyn TokenRecords>,
    clock: Arc<dyn Clock>,
    /// Seals AWS secret access keys (`None`: no root key, no access keys).
    sealer: Option<Arc<AccessKeySealer>>,
}

fn unauthenticated() -> Error {
    Error::Unauthenticated(AUTH_FAILED.to_owned())
}

impl TokenAuthority {
    /// Tokens kept in `store`, on the system clock.
    pub fn new(store: Arc<dyn TokenRecords>) -> Self {
        Self::with_clock(store, Arc::new(SystemClock))
    }

    /// Tokens kept in `store`, on `clock` (tests drive expiry and `last_used` with a manual
    /// clock).
    pub fn with_clock(store: Arc<dyn TokenRecords>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            sealer: None,
        }
    }

    /// The same tokens, and AWS access keys issued and checked with secrets sealed by
    /// `sealer`.
    #[must_use]
    pub fn with_sealer(mut self, sealer: AccessKeySealer) -> Self {
        self.sealer = Some(Arc::new(sealer));
        self
    }

    /// Issues a token for `req.principal` with `req.role`: a bearer token, or an AWS access
    /// key pair for [`TokenKind::Aws`]. The returned [`IssuedToken::token`] is the only copy
    /// of the secret there will ever be. The record is stored through `writer`: the service
    /// commits it with the call's outcome audit row.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad principal name, a role that `policy` does not
    /// define (built-in roles always exist), or a lifetime outside 1..=[`MAX_EXPIRY_DAYS`];
    /// [`Error::Unsupported`] for an access key when the store has no root key;
    /// [`Error::Unavailable`] on a store or random-generator failure, or when `writer`
    /// cannot record the write.
    pub async fn create(
        &self,
        req: &TokenRequest,
        policy: &AccessPolicy,
        writer: &mut dyn ObjectWriter,
    ) -> Result<IssuedToken> {
        validate_principal(&req.principal)?;
        if !policy.has_role(&req.role) {
            return Err(Error::invalid(format!(
                "unknown role `{}`; roles: {}",
                req.role,
                policy.role_names().join(", ")
            )));
        }
        let created = self.clock.now();
        let expires = match req.expires_in_days {
            None => None,
            Some(days @ 1..=MAX_EXPIRY_DAYS) => Some(created + Duration::days(i64::from(days))),
            Some(days) => {
                return Err(Error::invalid(format!(
                    "expires_in_days must be 1 to {MAX_EXPIRY_DAYS}, got {days}"
                )));
            }
        };
        if req.kind == TokenKind::Aws {
            return self.create_aws(req, created, expires, writer).await;
        }
        let secret = new_secret()?;
        let hash = secret_hash(secret.as_ref());
        let id = self
            .insert_fresh(
                writer,
                req,
                TokenKind::Bearer,
                &hash,
                created,
                expires,
                new_id,
                |_| Ok(None),
            )
            .await?;
        let token = render(&id, &secret);
        Ok(IssuedToken {
            info: TokenInfo {
                id,
                principal: req.principal.clone(),
                role: req.role.clone(),
                created,
                expires,
                revoked: None,
                kind: TokenKind::Bearer,
            },
            token,
        })
    }

    /// Inserts a token row under a fresh id from `new_id` and returns the id. A fresh id
    /// collides with probability 2^-48 per existing token; a clash is retried a few times
    /// rather than failed. `seal` gives the sealed secret to keep for the id (AWS keys bind
    /// it to their access key id), or none.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_fresh(
        &self,
        writer: &mut dyn ObjectWriter,
        req: &TokenRequest,
        kind: TokenKind,
        hash: &[u8],
        created: OffsetDateTime,
        expires: Option<OffsetDateTime>,
        new_id: fn() -> Result<String>,
        seal: impl Fn(&str) -> Result<Option<Vec<u8>>>,
    ) -> Result<String> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let id = new_id()?;
            let record = TokenRecord {
                sealed_secret: seal(&id)?,
                info: TokenInfo {
                    id,
                    principal: req.principal.clone(),
                    role: req.role.clone(),
                    created,
                    expires,
                    revoked: None,
                    kind,
                },
                secret_hash: hash.to_vec(),
                last_used: None,
            };
            let id = record.info.id.clone();
            match writer.apply(ObjectWrite::InsertToken(record)).await? {
                ObjectWritten::TokenIdTaken if attempts < 4 => {}
                ObjectWritten::TokenIdTaken => {
                    return Err(Error::unavailable(format!(
                        "token store: {attempts} fresh token ids in a row were taken"
                    )));
                }
                _ => return Ok(id),
            }
        }
    }

    /// Every token, oldest first, revoked and expired ones included (never a secret).
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn list(&self) -> Result<Vec<TokenInfo>> {
        self.store.list_tokens().await
    }

    /// One token's listing.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id.
    pub async fn get(&self, id: &str) -> Result<TokenInfo> {
        self.store
            .token(id)
            .await?
            .map(|record| record.info)
            .ok_or_else(|| Error::not_found(format!("token {id}")))
    }

    /// Revokes a token: it stops authenticating at once. Revoking a revoked token is fine
    /// and keeps the first revocation time. The revocation is stored through `writer` (the
    /// service commits it with the call's outcome audit row).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id; [`Error::Unavailable`] when `writer` cannot
    /// record the write.
    pub async fn revoke(&self, id: &str, writer: &mut dyn ObjectWriter) -> Result<TokenInfo> {
        let write = ObjectWrite::RevokeToken {
            id: id.to_owned(),
            at: self.clock.now(),
        };
        match writer.apply(write).await? {
            ObjectWritten::Token(info) => Ok(info),
            other => Err(Error::unavailable(format!(
                "token store: a revocation answered {other:?}"
            ))),
        }
    }

    /// When the token last authenticated, if ever (accurate to a minute: the time is only
    /// rewritten once it is a minute old).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id.
    pub async fn last_used(&self, id: &str) -> Result<Option<OffsetDateTime>> {
        self.store
            .token(id)
            .await?
            .map(|record| record.last_used)
            .ok_or_else(|| Error::not_found(format!("token {id}")))
    }

    /// The identity a bearer token stands for.
    ///
    /// The secret's hash is compared in constant time, and a hash is compared even when the
    /// id is unknown, so the work done does not depend on how wrong the token is.
    ///
    /// # Errors
    /// [`Error::Unauthenticated`], always with the same message, for a malformed, unknown,
    /// wrong, revoked or expired token; [`Error::Unavailable`] when the store fails.
    pub async fn authenticate(&self, bearer: &str) -> Result<Identity> {
        let Some((id, secret)) = parse_token(bearer) else {
            return Err(unauthenticated());
        };
        let presented = secret_hash(&secret);
        // An access key is not a bearer token, whatever it is presented as.
        let record = self
            .store
            .token(id)
            .await?
            .filter(|record| record.info.kind == TokenKind::Bearer);
        let absent;
        let stored: &[u8] = match &record {
            Some(record) => &record.secret_hash,
            // Compare against something of the right length anyway: equal work either way.
            None => {
                absent = vec![0u8; presented.len()];
                &absent
            }
        };
        let secret_ok: bool = presented.as_slice().ct_eq(stored).into();
        let Some(record) = record else {
            return Err(unauthenticated());
        };
        let now = self.clock.now();
        let expired = record.info.expires.is_some_and(|expires| now >= expires);
        let revoked = record.info.revoked.is_some();
        if !secret_ok || expired || revoked {
            return Err(unauthenticated());
        }
        if record
            .last_used
            .is_none_or(|t| now - t >= LAST_USED_GRANULARITY)
        {
            self.touch(id, now).await;
        }
        Ok(Identity {
            principal: record.info.principal,
            role: record.info.role,
        })
    }

    /// Records a use. Bookkeeping only: a failed write is logged and does not fail the
    /// request the token authenticated.
    async fn touch(&self, id: &str, now: OffsetDateTime) {
        if let Err(e) = self.store.touch_token(id, now).await {
            tracing::warn!(token = id, error = %e, "could not record token use");
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::format::{SECRET_BYTES, TOKEN_LEN};
    use super::*;
    use crate::audit::tests::LogWriter;
    use crate::store::GatewayStore;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use keygate_core::access::Role;
    use keygate_core::{ErrorKind, ManualClock};

    const T0: OffsetDateTime = time::macros::datetime!(2030-01-01 00:00:00 UTC);

    async fn in_memory() -> (Arc<dyn TokenRecords>, LogWriter) {
        let store = GatewayStore::in_memory().await.unwrap();
        let writer = LogWriter::on(&store).await;
        (Arc::new(store), writer)
    }

    async fn store_at(clock: Arc<ManualClock>) -> (TokenAuthority, LogWriter) {
        let (db, writer) = in_memory().await;
        (TokenAuthority::with_clock(db, clock), writer)
    }

    fn req(principal: &str, role: &str, days: Option<u32>) -> TokenRequest {
        TokenRequest {
            principal: principal.into(),
            role: role.into(),
            expires_in_days: days,
            kind: Default::default(),
        }
    }

    fn secret_of(token: &str) -> &str {
        token.split_once('.').unwrap().1
    }

    #[tokio::test]
    async fn issue_authenticate_list() {
        let clock = Arc::new(ManualClock::new(T0));
        let (tokens, mut w) = store_at(clock.clone()).await;
        let policy = AccessPolicy::default();
        let issued = tokens
            .create(&req("billing", "app", None), &policy, &mut w)
            .await
            .unwrap();
        assert!(issued.token.starts_with("kgt_"));
        assert_eq!(issued.token.len(), TOKEN_LEN);
        assert_eq!(issued.token[4..16], issued.info.id);
        assert_eq!((issued.info.created, issued.info.expires), (T0, None));
        let who = tokens.authenticate(&issued.token).await.unwrap();
        assert_eq!(
            who,
            Identity {
                principal: "billing".into(),
                role: "app".into()
            }
        );
        // Listing is oldest first.
        clock.advance(Duration::seconds(1));
        let other = tokens
            .create(&req("alice@corp", "admin", Some(30)), &policy, &mut w)
            .await
            .unwrap();
        assert_ne!(other.info.id, issued.info.id);
        assert_eq!(
            other.info.expires,
            Some(T0 + Duration::seconds(1) + Duration::days(30))
        );
        assert_eq!(
            tokens.list().await.unwrap(),
            vec![issued.info.clone(), other.info.clone()]
        );
        assert_eq!(tokens.get(&other.info.id).await.unwrap(), other.info);
    }

    #[tokio::test]
    async fn bad_requests_are_typed_errors() {
        let (db, mut w) = in_memory().await;
        let tokens = TokenAuthority::new(db);
        let mut policy = AccessPolicy::default();
        for principal in ["", "two words", "ünïcode", "a/b", &"p".repeat(129)] {
            let err = tokens
                .create(&req(principal, "app", None), &policy, &mut w)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{principal:?}");
        }
        tokens
            .create(&req(&"p".repeat(128), "app", None), &policy, &mut w)
            .await
            .unwrap();
        tokens
            .create(&req("svc:a.b_c@d-e", "app", None), &policy, &mut w)
            .await
            .unwrap();
        let err = tokens
            .create(&req("x", "rotator", None), &policy, &mut w)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("unknown role `rotator`"), "{err}");
        policy.roles.insert("rotator".into(), Role::default());
        tokens
            .create(&req("x", "rotator", None), &policy, &mut w)
            .await
            .unwrap();
        for days in [0, MAX_EXPIRY_DAYS + 1] {
            let err = tokens
                .create(&req("x", "app", Some(days)), &policy, &mut w)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{days}");
        }
        // Nothing was stored for the refused requests.
        assert_eq!(tokens.list().await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn revoke_stops_a_token_and_is_idempotent() {
        let clock = Arc::new(ManualClock::new(T0));
        let (tokens, mut w) = store_at(clock.clone()).await;
        let issued = tokens
            .create(&req("a", "admin", None), &AccessPolicy::default(), &mut w)
            .await
            .unwrap();
        let kept = tokens
            .create(&req("b", "admin", None), &AccessPolicy::default(), &mut w)
            .await
            .unwrap();
        clock.advance(Duration::hours(1));
        let info = tokens.revoke(&issued.info.id, &mut w).await.unwrap();
        assert_eq!(info.revoked, Some(T0 + Duration::hours(1)));
        let err = tokens.authenticate(&issued.token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        clock.advance(Duration::hours(1));
        assert_eq!(tokens.revoke(&issued.info.id, &mut w).await.unwrap(), info);
        assert_eq!(
            tokens
                .revoke("0123456789ab", &mut w)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::NotFound
        );
        // The other token is untouched.
        tokens.authenticate(&kept.token).await.unwrap();
    }

    #[tokio::test]
    async fn tokens_expire() {
        let clock = Arc::new(ManualClock::new(T0));
        let (tokens, mut w) = store_at(clock.clone()).await;
        let issued = tokens
            .create(&req("a", "app", Some(1)), &AccessPolicy::default(), &mut w)
            .await
            .unwrap();
        clock.advance(Duration::days(1) - Duration::seconds(1));
        tokens.authenticate(&issued.token).await.unwrap();
        clock.advance(Duration::seconds(1));
        let err = tokens.authenticate(&issued.token).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[tokio::test]
    async fn every_failure_looks_the_same() {
        let clock = Arc::new(ManualClock::new(T0));
        let (tokens, mut w) = store_at(clock.clone()).await;
        let policy = AccessPolicy::default();
        let good = tokens
            .create(&req("a", "admin", None), &policy, &mut w)
            .await
            .unwrap();
        let revoked = tokens
            .create(&req("b", "admin", None), &policy, &mut w)
            .await
            .unwrap();
        tokens.revoke(&revoked.info.id, &mut w).await.unwrap();
        let expiring = tokens
            .create(&req("c", "admin", Some(1)), &policy, &mut w)
            .await
            .unwrap();
        clock.advance(Duration::days(2));

        let secret = secret_of(&good.token);
        let other_secret = secret_of(&revoked.token);
        let cases = [
            String::new(),
            "kgt_".into(),
            good.token.to_uppercase(),
            good.token.replacen("kgt_", "kgx_", 1),
            format!("{}=", &good.token[..good.token.len() - 1]),
            format!("{}x", *good.token),
            good.token[..good.token.len() - 1].to_owned(),
            format!("kgt_{}.{secret}", good.info.id.to_uppercase()),
            format!("kgt_zzzzzzzzzzzz.{secret}"),
            format!("kgt_{}:{secret}", good.info.id),
            format!("{}{}", *good.token, "A".repeat(10_000)),
            // Well formed, unknown id.
            format!("kgt_000000000000.{secret}"),
            // Known id, someone else's secret.
            format!("kgt_{}.{other_secret}", good.info.id),
            revoked.token.to_string(),
            expiring.token.to_string(),
        ];
        for case in &cases {
            let err = tokens.authenticate(case).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{case}");
            assert_eq!(
                err.to_string(),
                format!("unauthenticated: {AUTH_FAILED}"),
                "{case}"
            );
            assert!(!format!("{err:?}").contains(secret));
        }
        tokens.authenticate(&good.token).await.unwrap();
    }

    #[tokio::test]
    async fn last_used_is_written_at_most_once_a_minute() {
        let clock = Arc::new(ManualClock::new(T0));
        let (tokens, mut w) = store_at(clock.clone()).await;
        let issued = tokens
            .create(&req("a", "app", None), &AccessPolicy::default(), &mut w)
            .await
            .unwrap();
        let id = &issued.info.id;
        assert_eq!(tokens.last_used(id).await.unwrap(), None);
        tokens.authenticate(&issued.token).await.unwrap();
        assert_eq!(tokens.last_used(id).await.unwrap(), Some(T0));
        clock.advance(Duration::seconds(59));
        tokens.authenticate(&issued.token).await.unwrap();
        assert_eq!(
            tokens.last_used(id).await.unwrap(),
            Some(T0),
            "not rewritten within a minute"
        );
        clock.advance(Duration::seconds(1));
        tokens.authenticate(&issued.token).await.unwrap();
        assert_eq!(
            tokens.last_used(id).await.unwrap(),
            Some(T0 + Duration::minutes(1))
        );
        // A failed attempt is not a use.
        clock.advance(Duration::minutes(5));
        let wrong = format!("kgt_{id}.{}", URL_SAFE_NO_PAD.encode([0u8; SECRET_BYTES]));
        tokens.authenticate(&wrong).await.unwrap_err();
        assert_eq!(
            tokens.last_used(id).await.unwrap(),
            Some(T0 + Duration::minutes(1))
        );
    }

    #[tokio::test]
    async fn secrets_never_reach_debug_output() {
        let (db, mut w) = in_memory().await;
        let tokens = TokenAuthority::new(db);
        let issued = tokens
            .create(&req("a", "admin", None), &AccessPolicy::default(), &mut w)
            .await
            .unwrap();
        let secret = secret_of(&issued.token).to_owned();
        let who = tokens.authenticate(&issued.token).await.unwrap();
        for text in [
            format!("{issued:?}"),
            format!("{:?}", issued.info),
            format!("{tokens:?}"),
            format!("{who:?}"),
            format!("{:?}", tokens.list().await.unwrap()),
        ] {
            assert!(!text.contains(&secret), "{text}");
            assert!(!text.contains(issued.token.as_str()), "{text}");
        }
    }
}

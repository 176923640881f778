//! The gateway API as one trait: everything a user can ask of keygate, whoever asks and
//! however they reach it.
//!
//! The gateway implements [`Gateway`] twice: in process (a session of the service layer,
//! bound to one caller: what the embedded CLI and `keygate serve` use) and over HTTP (a
//! client of a running gateway: what `--gateway URL --token T` uses). The console is driven
//! through the same trait, so every front end gets the same checks and the same audit rows.
//!
//! Keys are named by a [`KeyLocator`] (a key URI, `alias/<name>`, or a plain key name), parsed
//! once where the caller's text came in. A call about one key resolves it once, and answers
//! with what it resolved ([`Resolved`], or the key's metadata), so no caller looks the key up
//! again.

use std::fmt;

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::access::{AccessPolicy, Identity};
use crate::audit::{
    AuditCheckpoint, AuditEvent, AuditQuery, AuditVerification, ConsistencyProof, InclusionProof,
};
use crate::envelope::EnvelopeHeader;
use crate::{
    Capabilities, Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, EncryptionContext,
    KeyLocator, KeyMetadata, KeyRef, KeyUpdate, KeyVersion, MacTag, Page, Policy, ProviderKind,
    PublicKey, Result, RotationSchedule, SecretBytes, SignInput, Signature, SigningAlgorithm,
};

/// The answer of a call about one key, with the key the service resolved the caller's
/// [`KeyLocator`] to: its provider, its provider-native id and its URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<T> {
    /// The provider and the provider-native id.
    pub key: KeyRef,
    /// The key's URI (`local://demo`, `aws-kms://us-east-1/<id>`, ...), as envelopes and
    /// audit rows name it.
    pub uri: String,
    /// The call's own answer.
    pub value: T,
}

impl<T> Resolved<T> {
    /// The same key with another answer.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Resolved<U> {
        Resolved {
            key: self.key,
            uri: self.uri,
            value: f(self.value),
        }
    }

    /// The answer alone.
    pub fn into_value(self) -> T {
        self.value
    }
}

/// A registered provider, as callers see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProviderSummary {
    /// Registered name.
    pub name: String,
    /// Which backend.
    pub kind: ProviderKind,
    /// Prefix of its key URIs.
    pub uri_prefix: String,
    /// What it supports.
    pub capabilities: Capabilities,
}

/// A provider that could not be listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderFailure {
    /// The provider's name.
    pub provider: String,
    /// The failure's kind, as [`ErrorKind::as_str`](crate::ErrorKind::as_str) spells it
    /// (`unavailable`, `permission_denied`, ...).
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

/// Keys across providers. One provider's failure does not hide the others' keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KeyListing {
    /// The keys the caller may see, provider by provider in registration order.
    pub keys: Vec<KeyMetadata>,
    /// Providers that could not be listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProviderFailure>,
}

/// A cross-provider alias.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    /// The alias name, without the `alias/` prefix.
    pub name: String,
    /// The key it points at.
    pub target: KeyRef,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// A decrypted envelope.
#[derive(Clone)]
pub struct Decrypted {
    /// The decrypted bytes. Secret: never logged (`Debug` shows only their length).
    pub plaintext: SecretBytes,
    /// The key that protected it.
    pub key_uri: String,
    /// The key version, when known (always for envelopes).
    pub key_version: Option<String>,
    /// The context it was bound to.
    pub context: EncryptionContext,
}

impl fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decrypted")
            .field(
                "plaintext",
                &format_args!("<{} bytes redacted>", self.plaintext.len()),
            )
            .field("key_uri", &self.key_uri)
            .field("key_version", &self.key_version)
            .field("context", &self.context)
            .finish()
    }
}

/// A fresh data key and the envelope header that carries it wrapped: what a client needs to
/// seal a stream of any size itself.
#[derive(Clone)]
pub struct SealingKey {
    /// The header to write first.
    pub header: EnvelopeHeader,
    /// The data key in plaintext.
    pub data_key: SecretBytes,
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("header", &self.header)
            .field("data_key", &"<redacted>")
            .finish()
    }
}

/// What a token is presented as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenKind {
    /// A bearer token `kgt_<id>.<secret>` (REST API, GCP and Azure dialects).
    #[default]
    Bearer,
    /// An AWS access key pair (access key id and secret access key) that signs AWS KMS
    /// dialect requests with SigV4.
    Aws,
}

impl TokenKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bearer => "bearer",
            Self::Aws => "aws",
        }
    }

    /// True for [`TokenKind::Bearer`] (serialization skips the default kind, so bearer
    /// tokens read as they always did).
    pub fn is_bearer(&self) -> bool {
        *self == Self::Bearer
    }
}

/// An API token as listed (the secret is never shown again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public token id (the part before the dot; for an AWS access key, the access key id).
    pub id: String,
    /// The principal it authenticates.
    pub principal: String,
    /// The role it grants.
    pub role: String,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// When it stops working, if ever.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked: Option<OffsetDateTime>,
    /// Bearer token or AWS access key (absent in JSON: bearer).
    #[serde(default, skip_serializing_if = "TokenKind::is_bearer")]
    pub kind: TokenKind,
}

/// A token just issued: the only time its secret is shown.
#[derive(Clone)]
pub struct IssuedToken {
    /// Its listing.
    pub info: TokenInfo,
    /// The bearer token (`kgt_<id>.<secret>`); for an AWS access key, the secret access key
    /// (its access key id is `info.id`).
    pub token: Zeroizing<String>,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("info", &self.info)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// What to issue a token for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// The principal the token will authenticate as (`billing`, `alice`); audit rows name it.
    pub principal: String,
    /// The role the token grants: a built-in role or one the access policy defines.
    pub role: String,
    /// Lifetime in days (`None`: until revoked).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// A bearer token (the default) or an AWS access key pair.
    #[serde(default, skip_serializing_if = "TokenKind::is_bearer")]
    pub kind: TokenKind,
}

/// What went wrong with one part of the gateway, in a [`GatewayStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthError {
    /// The failure's kind, as [`ErrorKind::as_str`](crate::ErrorKind::as_str) spells it
    /// (`unavailable`, `permission_denied`, ...).
    pub kind: String,
    /// What went wrong (never a secret).
    pub message: String,
}

impl HealthError {
    /// The kind and message of `error`.
    pub fn from_error(error: &crate::Error) -> Self {
        Self {
            kind: error.kind().as_str().to_owned(),
            message: error.to_string(),
        }
    }
}

/// One provider's answer to a cheap probe (see `KeyProvider::probe`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderHealth {
    /// The provider's registered name.
    pub name: String,
    /// Which backend it is.
    pub kind: ProviderKind,
    /// Whether the probe succeeded within the gateway's probe timeout.
    pub reachable: bool,
    /// How long the probe took, in milliseconds (up to the timeout when it timed out).
    pub latency_ms: u64,
    /// Why it is unreachable; absent when reachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<HealthError>,
    /// The provider's circuit breaker; absent from gateways that do not report one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit: Option<CircuitHealth>,
}

/// Where a provider's circuit breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// The provider failed too often in a row: its calls fail fast until the open period
    /// ends.
    Open,
    /// The open period ended: one trial call goes through; its outcome closes or reopens.
    HalfOpen,
}

impl CircuitState {
    /// The name used in JSON, metrics and the console (`closed`, `open`, `half_open`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// One provider's circuit breaker, as `keygate status` and `/metrics` report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitHealth {
    /// The breaker's state.
    pub state: CircuitState,
    /// Failures in a row since the last success (timeouts and unreachable backends only).
    pub consecutive_failures: u32,
    /// How many times the breaker opened since the process started.
    pub trips: u64,
    /// Seconds until an open breaker lets a trial call through (rounded up); absent unless
    /// open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_for_secs: Option<u64>,
}

/// The gateway store's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreHealth {
    /// The store backend (`sqlite`).
    pub backend: String,
    /// Whether the store answers a read.
    pub readable: bool,
    /// Whether the store can take a write lock (checked without writing anything).
    pub writable: bool,
    /// The first failure, when not readable or not writable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<HealthError>,
}

/// The audit log's health and where its hash chain ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHealth {
    /// Whether the writer task is still taking events (when false, every audited call is
    /// refused).
    pub writer_running: bool,
    /// How many rows the log holds.
    pub rows: u64,
    /// The `seq` of the last committed row; absent for an empty log (or when it could not
    /// be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_seq: Option<u64>,
    /// The hash (hex) of the last committed row; absent with `head_seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_hash: Option<String>,
    /// The size on disk of the database holding the log, in bytes (the main file and its
    /// write-ahead log); absent for an in-memory store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Batches the writer failed to commit since the gateway started (their requests were
    /// refused).
    pub failed_batches: u64,
    /// Why the rows or head could not be read, if they could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<HealthError>,
}

/// Who runs the maintenance scheduler (scheduled rotations, deletions and version
/// destruction) among the gateway processes sharing the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulerStatus {
    /// The answering process's name among replicas (`[scheduler] replica`, or
    /// `<hostname>:<pid>`).
    pub replica: String,
    /// Whether the answering process leads now (runs maintenance on its timer).
    pub leading: bool,
    /// Whether leadership is a lease held through the store (PostgreSQL, shared by
    /// replicas); false on SQLite, where the serving process runs maintenance alone.
    pub shared: bool,
    /// The replica holding the lease now, as it named itself; absent when none does (or the
    /// store has no lease).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
}

/// A socket the answering gateway process listens on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// What it serves: `rest` (the REST API and the AWS and GCP dialects) or `azure` (the
    /// Azure Key Vault dialect, on its own TLS socket).
    pub name: String,
    /// Its base URL (`http://127.0.0.1:8200`).
    pub url: String,
}

/// The gateway's health as one answer: `keygate status`, `GET /v1/status` and the console's
/// header all show it. A stable JSON contract (snake_case fields; absent optional fields are
/// left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayStatus {
    /// The answering gateway's version (`0.1.0`).
    pub version: String,
    /// The cloud features the answering binary was built with (`aws`, `azure`, `gcp`).
    pub features: Vec<String>,
    /// Every registered provider, in registration order, with the result of its probe.
    pub providers: Vec<ProviderHealth>,
    /// The gateway store.
    pub store: StoreHealth,
    /// The audit log.
    pub audit: AuditHealth,
    /// The sockets the answering process listens on; empty for an embedded gateway (the CLI
    /// or console on a home).
    pub listeners: Vec<Listener>,
    /// When the checks ran.
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// Who runs the maintenance scheduler; absent from gateways older than this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<SchedulerStatus>,
}

impl GatewayStatus {
    /// How many providers answered their probe.
    pub fn reachable_providers(&self) -> usize {
        self.providers.iter().filter(|p| p.reachable).count()
    }

    /// The providers whose circuit breaker is open (their calls fail fast), by name.
    pub fn open_circuits(&self) -> Vec<&str> {
        self.providers
            .iter()
            .filter(|p| {
                p.circuit
                    .as_ref()
                    .is_some_and(|c| c.state == CircuitState::Open)
            })
            .map(|p| p.name.as_str())
            .collect()
    }

    /// Whether the gateway can record what it does: the store takes writes and the audit
    /// writer runs. When false, every audited call is refused (the gateway fails closed).
    pub fn can_write(&self) -> bool {
        self.store.writable && self.audit.writer_running
    }
}

/// Everything a caller can ask of keygate. See the module docs.
///
/// Every method checks the gateway access policy for the bound caller and writes one audit
/// event (also when it is denied or fails). A denied call is
/// [`Error::PermissionDenied`](crate::Error::PermissionDenied) and never reaches a provider.
#[async_trait]
pub trait Gateway: Send + Sync + fmt::Debug {
    /// The caller's identity.
    async fn whoami(&self) -> Result<Identity>;
    /// The registered providers.
    async fn providers(&self) -> Result<Vec<ProviderSummary>>;
    /// The gateway's health: each provider probed (reachable or not, and how fast), the
    /// store's and the audit log's state, the listeners, version and features. Authorized as
    /// `status:read`; a refusal is audited, a successful read is not (it is health, not a use
    /// of a key).
    async fn status(&self) -> Result<GatewayStatus>;

    /// Keys across providers (or one), filtered to those the caller may list.
    async fn list_keys(&self, provider: Option<&str>) -> Result<KeyListing>;
    /// One key.
    async fn describe_key(&self, key: &KeyLocator) -> Result<KeyMetadata>;
    /// Creates a key in `provider` (default: the first registered provider).
    async fn create_key(
        &self,
        provider: Option<&str>,
        req: CreateKeyRequest,
    ) -> Result<KeyMetadata>;
    /// Changes description and labels.
    async fn update_key(&self, key: &KeyLocator, update: KeyUpdate) -> Result<KeyMetadata>;
    /// Enables a key.
    async fn enable_key(&self, key: &KeyLocator) -> Result<KeyMetadata>;
    /// Disables a key.
    async fn disable_key(&self, key: &KeyLocator) -> Result<KeyMetadata>;
    /// Schedules deletion after `pending_days`.
    async fn schedule_deletion(&self, key: &KeyLocator, pending_days: u32) -> Result<KeyMetadata>;
    /// Cancels a scheduled deletion.
    async fn cancel_deletion(&self, key: &KeyLocator) -> Result<KeyMetadata>;
    /// The key's versions, oldest first.
    async fn list_versions(&self, key: &KeyLocator) -> Result<Resolved<Vec<KeyVersion>>>;
    /// Rotates now: a new primary version.
    async fn rotate_key(&self, key: &KeyLocator) -> Result<Resolved<KeyVersion>>;
    /// Enables one version of a key. Authorized and audited as `keys:enable`, the row
    /// naming the version.
    async fn enable_version(&self, key: &KeyLocator, version: &str)
    -> Result<Resolved<KeyVersion>>;
    /// Disables one version of a key: it refuses every use until enabled. Authorized and
    /// audited as `keys:disable`.
    async fn disable_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>>;
    /// Schedules the destruction of one version (by its provider's rule); it refuses every
    /// use at once and answers `destroy_scheduled` with its `destroy_time`. Authorized and
    /// audited as `keys:delete`.
    async fn destroy_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>>;
    /// Restores a version scheduled for destruction; it comes back `disabled`. Authorized
    /// and audited as `keys:undelete`.
    async fn restore_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>>;
    /// Makes an enabled version the primary one; answers the key as it now is. Authorized
    /// and audited as `keys:rotate`.
    async fn set_primary_version(&self, key: &KeyLocator, version: &str) -> Result<KeyMetadata>;
    /// The automatic rotation schedule.
    async fn get_rotation(&self, key: &KeyLocator) -> Result<Resolved<Option<RotationSchedule>>>;
    /// Sets or clears the automatic rotation schedule; answers the key as it now is (its
    /// `rotation` is the stored schedule).
    async fn set_rotation(
        &self,
        key: &KeyLocator,
        schedule: Option<RotationSchedule>,
    ) -> Result<KeyMetadata>;
    /// The public key of an asymmetric key.
    async fn get_public_key(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
    ) -> Result<Resolved<PublicKey>>;
    /// The key's own (provider) access policy.
    async fn get_key_policy(&self, key: &KeyLocator) -> Result<Resolved<Policy>>;
    /// Replaces the key's own access policy.
    async fn set_key_policy(&self, key: &KeyLocator, policy: Policy) -> Result<Resolved<Policy>>;

    /// Encrypts `plaintext` into a self-describing envelope (its header names the key and
    /// version).
    async fn encrypt(
        &self,
        key: &KeyLocator,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>>;
    /// Decrypts an envelope; the key is found from its header. A non-empty `context` must
    /// equal the one the envelope was sealed with.
    async fn decrypt(&self, envelope: &[u8], context: &EncryptionContext) -> Result<Decrypted>;
    /// Decrypts a provider-native ciphertext with the named key: a data key's `ciphertext`
    /// from [`Gateway::generate_data_key`], or a ciphertext made by the provider itself.
    /// `version` names the key version to decrypt with (`None`: the one the ciphertext
    /// names, or the primary for an asymmetric key).
    async fn decrypt_native(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted>;
    /// Encrypts `plaintext` with the key itself, in the provider's native format (what
    /// [`Gateway::decrypt_native`] takes back): RSA-OAEP for RSA keys, the provider's own
    /// ciphertext for symmetric keys. The cloud dialects use it where a cloud encrypts with
    /// the key directly (AWS `Encrypt` on an RSA key, Azure `encrypt`/`wrapkey`).
    /// Audited and authorized as `crypto:encrypt`.
    async fn encrypt_native(
        &self,
        key: &KeyLocator,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Resolved<Ciphertext>>;
    /// The ARN keygate's AWS KMS door names the key by
    /// (`arn:aws:kms:<region>:<account>:key/<uuid>`, with `[dialects.aws]`'s region and
    /// account), giving the key its stable UUID the first time: what an AWS Encryption SDK
    /// message names a keygate key by. Authorized and audited as `keys:describe`.
    ///
    /// # Errors
    /// As [`Gateway::describe_key`]; [`Error::Unsupported`](crate::Error::Unsupported) from
    /// a gateway that cannot name keys by AWS ARN.
    async fn aws_key_arn(&self, key: &KeyLocator) -> Result<Resolved<String>> {
        Err(crate::Error::unsupported(format!(
            "this gateway cannot name {key} by its AWS KMS ARN"
        )))
    }
    /// A wrapping public key and an import token for importing material into `key`, a key
    /// of origin `external` (see [`crate::import`]). Authorized and audited as
    /// `keys:import`.
    ///
    /// # Errors
    /// As [`KeyProvider::import_parameters`](crate::KeyProvider::import_parameters);
    /// [`Error::Unsupported`](crate::Error::Unsupported) from a gateway that cannot import.
    async fn import_parameters(
        &self,
        key: &KeyLocator,
        algorithm: crate::WrappingAlgorithm,
        wrapping_key: crate::WrappingKeySpec,
    ) -> Result<Resolved<crate::ImportParameters>> {
        let _ = (algorithm, wrapping_key);
        Err(import_unsupported(key))
    }
    /// Imports material wrapped for `key`'s import parameters; returns the key, now
    /// enabled. Authorized and audited as `keys:import`.
    ///
    /// # Errors
    /// As [`KeyProvider::import_material`](crate::KeyProvider::import_material).
    async fn import_key_material(
        &self,
        key: &KeyLocator,
        material: crate::ImportedMaterial,
    ) -> Result<KeyMetadata> {
        let _ = material;
        Err(import_unsupported(key))
    }
    /// Deletes `key`'s imported material: it becomes `pending_import`. Authorized and
    /// audited as `keys:import`.
    ///
    /// # Errors
    /// As [`KeyProvider::delete_imported_material`](crate::KeyProvider::delete_imported_material).
    async fn delete_imported_material(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        Err(import_unsupported(key))
    }
    /// `bytes` random bytes from keygate's CSPRNG (1–1024). Authorized and audited as
    /// `random:generate`; no key is involved.
    async fn generate_random(&self, bytes: usize) -> Result<SecretBytes>;
    /// A data key for the caller's own use, wrapped under the key (provider-native wrapping;
    /// unwrap it with [`Gateway::decrypt_native`]).
    async fn generate_data_key(
        &self,
        key: &KeyLocator,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<Resolved<DataKey>>;
    /// Starts an envelope the caller seals itself (streaming): a data key and its header.
    /// Audited and authorized as `crypto:encrypt`.
    async fn begin_envelope(
        &self,
        key: &KeyLocator,
        context: &EncryptionContext,
    ) -> Result<SealingKey>;
    /// Unwraps the data key of an envelope header the caller opens itself (streaming).
    /// Audited and authorized as `crypto:decrypt`. A non-empty `context` must equal the
    /// header's.
    async fn open_envelope(
        &self,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
    ) -> Result<SecretBytes>;
    /// [`Gateway::encrypt`] under several keys, of any providers: the envelope carries one
    /// wrapped copy of its data key per key, and opens with any one of them. Each wrap is
    /// authorized and audited as `crypto:encrypt` on its key; the gateway's envelope policy
    /// (keys a label requires) is checked before any key is used.
    ///
    /// The default serves one key through [`Gateway::encrypt`] and refuses more.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for no key, a key named
    /// twice or an envelope the policy refuses; [`Error::Unsupported`](crate::Error::Unsupported)
    /// for several keys where the gateway does not support them.
    async fn encrypt_for_keys(
        &self,
        keys: &[KeyLocator],
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        match keys {
            [key] => self.encrypt(key, plaintext, context).await,
            _ => Err(crate::Error::unsupported(
                "this gateway seals envelopes under exactly one key",
            )),
        }
    }
    /// [`Gateway::begin_envelope`] under several keys (see [`Gateway::encrypt_for_keys`]).
    ///
    /// # Errors
    /// As [`Gateway::encrypt_for_keys`].
    async fn begin_envelope_for_keys(
        &self,
        keys: &[KeyLocator],
        context: &EncryptionContext,
    ) -> Result<SealingKey> {
        match keys {
            [key] => self.begin_envelope(key, context).await,
            _ => Err(crate::Error::unsupported(
                "this gateway seals envelopes under exactly one key",
            )),
        }
    }
    /// Re-wraps an envelope's data key without touching its payload: unwraps it once (as
    /// [`Gateway::open_envelope`] does, audited `crypto:decrypt`) when keys are added, wraps
    /// it under each key of `add` (audited `crypto:encrypt` each) and drops the copies under
    /// the keys of `remove`. Returns the new header; when it fits in the old header's length
    /// it has exactly that length, so the header can be overwritten in place.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a key to remove that
    /// the envelope does not carry, one to add that it does, no key left, or an envelope
    /// the policy refuses; [`Error::Unsupported`](crate::Error::Unsupported) for a format 1
    /// envelope (its payload binds its key) or a gateway that cannot re-wrap; a refusal or
    /// failure to unwrap as [`Gateway::open_envelope`] has it.
    async fn rewrap_envelope(
        &self,
        header: &EnvelopeHeader,
        add: &[KeyLocator],
        remove: &[KeyLocator],
        context: &EncryptionContext,
    ) -> Result<EnvelopeHeader> {
        let _ = (header, add, remove, context);
        Err(crate::Error::unsupported(
            "this gateway cannot re-wrap envelopes",
        ))
    }
    /// Signs a message or a precomputed digest (see [`SignInput`]) with `algorithm`, or
    /// (`None`) the key's default: the first algorithm its spec lists that its provider
    /// accepts; the signature names the one used. `version` names the key version to sign
    /// with (`None`: the primary). Authorized and audited as `crypto:sign`.
    async fn sign(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        input: SignInput<'_>,
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<Signature>>;
    /// Verifies a signature over a message or a precomputed digest (`algorithm` defaults as
    /// for [`Gateway::sign`]); `value` is false when it does not verify. Authorized and
    /// audited as `crypto:verify`.
    async fn verify(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<bool>>;
    /// Computes a MAC with `version` (`None`: the primary).
    async fn generate_mac(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        message: &[u8],
    ) -> Result<Resolved<MacTag>>;
    /// Checks a MAC with `version` (`None`: the primary); `value` is false when it does not
    /// match.
    async fn verify_mac(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<Resolved<bool>>;

    /// Every alias.
    async fn list_aliases(&self) -> Result<Vec<Alias>>;
    /// Creates `alias/<name>` pointing at `key`.
    async fn create_alias(&self, name: &str, key: &KeyLocator) -> Result<Alias>;
    /// Points an existing alias at another key.
    async fn update_alias(&self, name: &str, key: &KeyLocator) -> Result<Alias>;
    /// Deletes an alias.
    async fn delete_alias(&self, name: &str) -> Result<()>;

    /// One page of audit events, oldest first.
    async fn query_audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>>;
    /// Audit events matching `query` after its cursor, then live ones as they are written.
    async fn follow_audit(
        &self,
        query: &AuditQuery,
    ) -> Result<BoxStream<'static, Result<AuditEvent>>>;
    /// Checks the whole log: the keyed hash chain and the Merkle tree.
    async fn verify_audit(&self) -> Result<AuditVerification>;
    /// Checks the log from the newest signed checkpoint the gateway kept and can prove: only
    /// the rows since it are read (`from_checkpoint` in the result names its size). Without
    /// one, the whole log is checked.
    ///
    /// The default checks the whole log ([`Gateway::verify_audit`]): a gateway that keeps no
    /// checkpoints.
    async fn verify_audit_from_checkpoint(&self) -> Result<AuditVerification> {
        self.verify_audit().await
    }
    /// A checkpoint of the whole audit log, signed now (after checking every row).
    ///
    /// The default answers [`crate::Error::Unsupported`]: a gateway without signed
    /// checkpoints.
    async fn audit_checkpoint(&self) -> Result<AuditCheckpoint> {
        Err(crate::Error::unsupported("audit checkpoints"))
    }
    /// The key audit checkpoints are signed with, in the signed-note verifier key form.
    ///
    /// The default answers [`crate::Error::Unsupported`].
    async fn audit_public_key(&self) -> Result<String> {
        Err(crate::Error::unsupported("audit checkpoints"))
    }
    /// Proves that row `seq` is in the log's tree of `size` rows (the whole log when `None`).
    ///
    /// The default answers [`crate::Error::Unsupported`].
    async fn audit_inclusion_proof(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof> {
        let _ = (seq, size);
        Err(crate::Error::unsupported("audit proofs"))
    }
    /// Proves that the log's tree of `size` rows (the whole log when `None`) extends its tree
    /// of `old_size` rows.
    ///
    /// The default answers [`crate::Error::Unsupported`].
    async fn audit_consistency_proof(
        &self,
        old_size: u64,
        size: Option<u64>,
    ) -> Result<ConsistencyProof> {
        let _ = (old_size, size);
        Err(crate::Error::unsupported("audit proofs"))
    }

    /// What the key estate costs: keys and versions per provider and per key at their
    /// monthly price, the requests the audit log counts since `since` at their price per
    /// 10,000, and the same estate priced on every other kind of provider. Authorized and
    /// audited as `audit:read`.
    ///
    /// The default answers [`crate::Error::Unsupported`].
    async fn cost(&self, since: OffsetDateTime) -> Result<crate::cost::CostReport> {
        let _ = since;
        Err(crate::Error::unsupported("the cost view"))
    }

    /// Issues a token.
    async fn create_token(&self, req: TokenRequest) -> Result<IssuedToken>;
    /// Lists tokens (never their secrets).
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>>;
    /// Revokes a token by id.
    async fn revoke_token(&self, id: &str) -> Result<TokenInfo>;

    /// The gateway access policy.
    async fn get_access_policy(&self) -> Result<AccessPolicy>;
    /// Replaces the gateway access policy (validated first).
    async fn set_access_policy(&self, policy: AccessPolicy) -> Result<AccessPolicy>;
}

fn import_unsupported(key: &KeyLocator) -> crate::Error {
    crate::Error::unsupported(format!(
        "this gateway cannot import key material into {key}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trait_is_object_safe_and_secrets_are_redacted() {
        fn takes(_: Option<&dyn Gateway>) {}
        takes(None);
        let d = Decrypted {
            plaintext: Zeroizing::new(b"top secret".to_vec()),
            key_uri: "local://k".into(),
            key_version: Some("1".into()),
            context: EncryptionContext::default(),
        };
        assert!(!format!("{d:?}").contains("top secret"));
    }
}

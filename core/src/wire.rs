//! The JSON bodies of the REST API, shared by the server (`keygate-http`) and its client
//! (`keygate-client`) so the two cannot disagree. Binary fields are standard base64 strings; fields that carry
//! secrets (plaintext, data keys, tokens) are [`Zeroizing`] and redacted in `Debug`.

mod import;
pub use import::{ImportMaterialBody, ImportParametersBody, ImportParametersRequestBody};
use std::fmt;

use crate::access::Identity;
use crate::api::{ProviderSummary, TokenInfo};
use crate::audit::AuditEvent;
use crate::{
    EncryptionContext, Error, KeySpec, KeyUsage, Labels, MacAlgorithm, Result, RotationSchedule,
    SecretBytes, SigningAlgorithm,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Standard base64 of `bytes`.
pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Standard base64 of secret bytes, into a string that is wiped on drop.
pub fn b64_secret(bytes: &[u8]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(bytes.len().div_ceil(3) * 4));
    STANDARD.encode_string(bytes, &mut out);
    out
}

/// Decodes the base64 field `field`.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the field (never echoing its value).
pub fn unb64(field: &str, value: &str) -> Result<Vec<u8>> {
    STANDARD
        .decode(value)
        .map_err(|_| Error::invalid(format!("`{field}` is not valid standard base64")))
}

/// Decodes a secret base64 field straight into wiped memory.
///
/// # Errors
/// [`Error::InvalidArgument`] naming the field (never echoing its value).
pub fn unb64_secret(field: &str, value: &str) -> Result<SecretBytes> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() / 4 * 3 + 3));
    STANDARD
        .decode_vec(value, &mut out)
        .map_err(|_| Error::invalid(format!("`{field}` is not valid standard base64")))?;
    Ok(out)
}

/// The response header naming the URI of the key a call about one key resolved to.
pub const KEY_URI_HEADER: &str = "x-keygate-key-uri";
/// The response header naming that key's provider.
pub const KEY_PROVIDER_HEADER: &str = "x-keygate-key-provider";
/// The response header naming that key's provider-native id.
pub const KEY_ID_HEADER: &str = "x-keygate-key-id";

/// A value for one of the resolved-key headers: the text percent-encoded outside visible
/// ASCII (and `%` itself), so any URI or id fits a header.
pub fn header_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x21..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The text of a resolved-key header value (the inverse of [`header_value`]).
///
/// # Errors
/// [`Error::InvalidArgument`] for a malformed escape or bytes that are not UTF-8.
pub fn header_text(value: &str) -> Result<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::invalid("a malformed escape in a keygate header"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::invalid("a keygate header that is not UTF-8"))
}

/// `{"status": ...}` of `/v1/health` and `/v1/ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: String,
    /// On `/v1/ready`: the providers whose circuit breaker is not closed (open or half-open).
    /// They do not fail readiness: the gateway still serves every other provider's keys.
    /// Absent when every provider's circuit is closed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers_down: Vec<String>,
}

/// `{"ok": true}` of `/v1/noop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Noop {
    /// Always true.
    pub ok: bool,
}

/// `GET /v1/whoami`.
pub type WhoAmI = Identity;
/// `GET /v1/providers`.
pub type Providers = Vec<ProviderSummary>;

/// `POST /v1/keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateKeyBody {
    /// The provider (default: the first registered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The key's name: its id at providers that name keys, `alias/<name>` at AWS.
    pub name: String,
    /// Algorithm family and size (`AES_256`, `RSA_2048`, `EC_P256`, `HMAC_SHA256`, ...).
    pub spec: KeySpec,
    /// The usage (default: the spec's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<KeyUsage>,
    /// Free-text description (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Labels to set on the key (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    /// Automatic rotation every this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_period_days: Option<u32>,
    /// `generated` (the default) or `external`: the key waits for imported material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<crate::KeyOrigin>,
}

/// `POST /v1/keys/{key}/delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteBody {
    /// Days before the key material is destroyed.
    pub pending_days: u32,
}

/// `GET/PUT /v1/keys/{key}/rotation` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationBody {
    /// The schedule, or null when automatic rotation is off.
    pub schedule: Option<RotationSchedule>,
    /// On `PUT`: the key as it now is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<crate::KeyMetadata>,
}

/// `PUT /v1/keys/{key}/rotation` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetRotationBody {
    /// Days between rotations, or null to turn automatic rotation off.
    pub period_days: Option<u32>,
}

/// `GET /v1/keys/{key}/public-key` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyBody {
    /// PEM SubjectPublicKeyInfo.
    pub pem: String,
    /// Base64 DER SubjectPublicKeyInfo.
    pub der: String,
    /// The version it belongs to.
    pub key_version: String,
    /// The key's spec.
    pub spec: KeySpec,
}

/// `GET /v1/keys/{key}/aws-arn` response: the ARN keygate's AWS door names the key by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsArnBody {
    /// `arn:aws:kms:<region>:<account>:key/<uuid>`.
    pub arn: String,
}

/// `?version=` of the public-key route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionQuery {
    /// A key version (default: the primary).
    #[serde(default)]
    pub version: Option<String>,
}

/// `?provider=` of `GET /v1/keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderQuery {
    /// Only this provider's keys.
    #[serde(default)]
    pub provider: Option<String>,
}

/// `POST /v1/encrypt`.
#[derive(Clone, Serialize, Deserialize)]
pub struct EncryptBody {
    /// The key: a key URI, `alias/<name>` or a key name ([`KeyLocator`](crate::KeyLocator)'s
    /// text form). May be left empty when `keys` names them.
    #[serde(default)]
    pub key: String,
    /// More keys (same forms) for a multi-key envelope (`/v1/encrypt` only): the data key is
    /// wrapped under `key` and each of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Base64 plaintext.
    pub plaintext: Zeroizing<String>,
    /// The encryption context to bind; decrypting needs the same (default: empty).
    #[serde(default)]
    pub context: EncryptionContext,
}

/// `POST /v1/encrypt` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedBody {
    /// Base64 envelope.
    pub ciphertext: String,
    /// The key that sealed it.
    pub key_uri: String,
    /// The key version that wrapped the data key.
    pub key_version: String,
    /// Every key the envelope is sealed under, the first (`key_uri`) first.
    #[serde(default)]
    pub key_uris: Vec<String>,
}

/// `POST /v1/encrypt-native` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeEncryptedBody {
    /// Base64 provider-native ciphertext.
    pub ciphertext: String,
    /// The key version that encrypted.
    pub key_version: String,
    /// The algorithm used.
    pub algorithm: crate::EncryptionAlgorithm,
}

/// `POST /v1/random`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RandomBody {
    /// How many bytes (1–1024).
    pub bytes: usize,
}

/// `POST /v1/random` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomResponse {
    /// Base64 random bytes.
    pub random: Zeroizing<String>,
}

/// `POST /v1/decrypt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecryptBody {
    /// Base64 envelope (or a provider-native ciphertext, with `key`).
    pub ciphertext: String,
    /// The context it was sealed with (empty: not checked for envelopes).
    #[serde(default)]
    pub context: EncryptionContext,
    /// The key, for a ciphertext that is not an envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The key version to use (default: the version a provider-native ciphertext names; ignored for envelopes, which name theirs). Also read as `version`.
    #[serde(default, alias = "version", skip_serializing_if = "Option::is_none")]
    pub key_version: Option<String>,
}

/// `POST /v1/decrypt` response.
#[derive(Clone, Serialize, Deserialize)]
pub struct DecryptedBody {
    /// Base64 plaintext.
    pub plaintext: Zeroizing<String>,
    /// The key that protected it.
    pub key_uri: String,
    /// The key version, when known.
    pub key_version: Option<String>,
    /// The context it was bound to.
    pub context: EncryptionContext,
}

/// `POST /v1/generate-data-key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataKeyBody {
    /// The key: a key URI, `alias/<name>` or a key name ([`KeyLocator`](crate::KeyLocator)'s
    /// text form).
    pub key: String,
    /// `AES_256` (default) or `AES_128`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<crate::DataKeySpec>,
    /// Instead of `spec`: a data key of this many bytes, 1 to
    /// [`DataKeySpec::MAX_BYTES`](crate::DataKeySpec::MAX_BYTES).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<usize>,
    /// The encryption context to bind; decrypting needs the same (default: empty).
    #[serde(default)]
    pub context: EncryptionContext,
}

/// `POST /v1/generate-data-key` response.
#[derive(Clone, Serialize, Deserialize)]
pub struct DataKeyResponse {
    /// Base64 data key.
    pub plaintext: Zeroizing<String>,
    /// Base64 wrapped data key (unwrap with `/v1/decrypt` and `key`).
    pub ciphertext: String,
    /// The key version that wrapped it.
    pub key_version: String,
}

/// `POST /v1/envelope/begin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeginEnvelopeBody {
    /// The key: a key URI, `alias/<name>` or a key name ([`KeyLocator`](crate::KeyLocator)'s
    /// text form). May be left empty when `keys` names them.
    #[serde(default)]
    pub key: String,
    /// More keys (same forms) for a multi-key envelope.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// The encryption context to bind; decrypting needs the same (default: empty).
    #[serde(default)]
    pub context: EncryptionContext,
}

/// `POST /v1/envelope/begin` response.
#[derive(Clone, Serialize, Deserialize)]
pub struct SealingKeyBody {
    /// Base64 of the encoded envelope header.
    pub header: String,
    /// Base64 data key.
    pub data_key: Zeroizing<String>,
}

/// `POST /v1/envelope/open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEnvelopeBody {
    /// Base64 of the encoded envelope header.
    pub header: String,
    /// Encryption context (empty: not checked).
    #[serde(default)]
    pub context: EncryptionContext,
}

/// `POST /v1/envelope/rewrap`: an envelope's header, the keys to add and to remove.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewrapBody {
    /// Base64 of the encoded envelope header (the payload is not needed).
    pub header: String,
    /// Keys to wrap the data key under (key URI, `alias/<name>` or key name).
    #[serde(default)]
    pub add: Vec<String>,
    /// Keys whose wrapped copies to drop.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Encryption context (empty: not checked).
    #[serde(default)]
    pub context: EncryptionContext,
}

/// `POST /v1/envelope/rewrap` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RewrapResponse {
    /// Base64 of the new encoded header, to put in front of the unchanged payload.
    pub header: String,
    /// Every key the envelope is now sealed under.
    pub key_uris: Vec<String>,
    /// Whether the new header has the old one's length (it can overwrite it in place).
    pub same_length: bool,
}

/// `POST /v1/envelope/open` response.
#[derive(Clone, Serialize, Deserialize)]
pub struct DataKeyOnly {
    /// Base64 data key.
    pub data_key: Zeroizing<String>,
}

/// `POST /v1/sign`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignBody {
    /// The key: a key URI, `alias/<name>` or a key name ([`KeyLocator`](crate::KeyLocator)'s
    /// text form).
    pub key: String,
    /// Base64 message (or digest, with `message_type: "digest"`).
    pub message: String,
    /// The algorithm (default: the key's, as the answer says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<SigningAlgorithm>,
    /// The key version to use (default: the primary). Also read as `version`.
    #[serde(default, alias = "version", skip_serializing_if = "Option::is_none")]
    pub key_version: Option<String>,
    /// Whether `message` is the message itself or its precomputed digest.
    #[serde(default, skip_serializing_if = "MessageType::is_raw")]
    pub message_type: MessageType,
}

/// What the `message` of a sign or verify request is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// The message itself (hashed by the provider).
    #[default]
    Raw,
    /// The digest the algorithm names, computed by the caller.
    Digest,
}

impl MessageType {
    /// True for [`MessageType::Raw`].
    pub fn is_raw(&self) -> bool {
        *self == Self::Raw
    }

    /// The type of `input`'s bytes.
    pub fn of(input: crate::SignInput<'_>) -> Self {
        if input.is_digest() {
            Self::Digest
        } else {
            Self::Raw
        }
    }

    /// `bytes` as the input this type says they are.
    pub fn input(self, bytes: &[u8]) -> crate::SignInput<'_> {
        match self {
            Self::Raw => crate::SignInput::Message(bytes),
            Self::Digest => crate::SignInput::Digest(bytes),
        }
    }
}

/// `POST /v1/sign` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureBody {
    /// Base64 signature.
    pub signature: String,
    /// The version that signed.
    pub key_version: String,
    /// The algorithm that signed: the one asked for, or the key's default.
    pub algorithm: SigningAlgorithm,
}

/// `POST /v1/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyBody {
    /// The key: a key URI, `alias/<name>` or a key name ([`KeyLocator`](crate::KeyLocator)'s
    /// text form).
    pub key: String,
    /// Base64 message.
    pub message: String,
    /// Base64 signature.
    pub signature: String,
    /// The algorithm (default: the key's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<SigningAlgorithm>,
    /// The version that signed (default: the primary). Also read as `version`.
    #[serde(default, alias = "version", skip_serializing_if = "Option::is_none")]
    pub key_version: Option<String>,
    /// Whether `message` is the message itself or its precomputed digest.
    #[serde(default, skip_serializing_if = "MessageType::is_raw")]
    pub message_type: MessageType,
}

/// `{"valid": bool}` of the verify endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Valid {
    /// Whether the signature or MAC verified.
    pub valid: bool,
}

/// `POST /v1/mac`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacBody {
    /// The key: a key URI, `alias/<name>` or a key name ([`KeyLocator`](crate::KeyLocator)'s
    /// text form).
    pub key: String,
    /// Base64 message.
    pub message: String,
    /// The key version to use (default: the primary). Also read as `version`.
    #[serde(default, alias = "version", skip_serializing_if = "Option::is_none")]
    pub key_version: Option<String>,
}

/// `POST /v1/mac` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacResponse {
    /// Base64 tag.
    pub mac: String,
    /// The version that computed it.
    pub key_version: String,
    /// The HMAC algorithm, which the key's spec fixes.
    pub algorithm: MacAlgorithm,
}

/// `POST /v1/mac/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MacVerifyBody {
    /// The key: a key URI, `alias/<name>` or a key name ([`KeyLocator`](crate::KeyLocator)'s
    /// text form).
    pub key: String,
    /// Base64 message.
    pub message: String,
    /// Base64 tag.
    pub mac: String,
    /// The key version to use (default: the primary). Also read as `version`.
    #[serde(default, alias = "version", skip_serializing_if = "Option::is_none")]
    pub key_version: Option<String>,
}

/// `POST /v1/aliases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAliasBody {
    /// The alias name (without `alias/`).
    pub name: String,
    /// The key it points at.
    pub key: String,
}

/// `PUT /v1/aliases/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateAliasBody {
    /// The key it should point at.
    pub key: String,
}

/// `GET /v1/audit` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    /// Events, oldest first.
    pub items: Vec<AuditEvent>,
    /// Pass as `after` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// `POST /v1/tokens` response.
#[derive(Clone, Serialize, Deserialize)]
pub struct IssuedTokenBody {
    /// The bearer token, or for `kind: aws` the secret access key (`info.id` is the access
    /// key id); shown only now.
    pub token: Zeroizing<String>,
    /// Its listing.
    pub info: TokenInfo,
}

macro_rules! redacted_debug {
    ($ty:ident { $($field:ident),* } secret $secret:ident) => {
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .field(stringify!($secret), &"<redacted>")
                    .finish()
            }
        }
    };
}

redacted_debug!(EncryptBody { key, keys, context } secret plaintext);
redacted_debug!(DecryptedBody { key_uri, key_version, context } secret plaintext);
redacted_debug!(DataKeyResponse { ciphertext, key_version } secret plaintext);
redacted_debug!(SealingKeyBody { header } secret data_key);
redacted_debug!(DataKeyOnly {} secret data_key);
redacted_debug!(IssuedTokenBody { info } secret token);

/// The JSON body of every REST error response: `{"error": {...}}` around an [`ErrorDetail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong: its stable kind, a message and the request id.
    pub error: ErrorDetail,
}

/// The inside of [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable kind, as [`ErrorKind::as_str`](crate::ErrorKind::as_str).
    pub kind: String,
    /// Human-readable message.
    pub message: String,
    /// The request id (also in the `x-request-id` response header).
    #[serde(default)]
    pub request_id: Option<String>,
}

#[cfg(test)]
mod header_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn resolved_key_headers_roundtrip_any_text() {
        for text in ["local://demo", "gcp-kms://projects/p/x", "100%", "é k", ""] {
            let value = header_value(text);
            assert!(value.bytes().all(|b| (0x21..0x7f).contains(&b)), "{value}");
            assert_eq!(header_text(&value).unwrap(), text);
        }
        assert!(header_text("%zz").is_err());
        assert!(header_text("%").is_err());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_roundtrips_and_errors_name_the_field_only() {
        assert_eq!(unb64("m", &b64(b"hello")).unwrap(), b"hello");
        assert_eq!(
            *unb64_secret("p", &b64_secret(b"s3cret")).unwrap(),
            b"s3cret"
        );
        let e = unb64("signature", "!!not-b64-XYZ").unwrap_err().to_string();
        assert!(e.contains("signature") && !e.contains("XYZ"), "{e}");
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let secret = b64_secret(b"the-plaintext-marker");
        let bodies = [
            format!(
                "{:?}",
                EncryptBody {
                    key: "k".into(),
                    keys: vec!["k2".into()],
                    plaintext: secret.clone(),
                    context: EncryptionContext::new(),
                }
            ),
            format!(
                "{:?}",
                DecryptedBody {
                    plaintext: secret.clone(),
                    key_uri: "local://k".into(),
                    key_version: None,
                    context: EncryptionContext::new(),
                }
            ),
            format!(
                "{:?}",
                DataKeyResponse {
                    plaintext: secret.clone(),
                    ciphertext: "x".into(),
                    key_version: "1".into(),
                }
            ),
            format!(
                "{:?}",
                SealingKeyBody {
                    header: "h".into(),
                    data_key: secret.clone(),
                }
            ),
            format!(
                "{:?}",
                DataKeyOnly {
                    data_key: secret.clone(),
                }
            ),
        ];
        for dbg in bodies {
            assert!(!dbg.contains(secret.as_str()), "{dbg}");
            assert!(dbg.contains("<redacted>"), "{dbg}");
        }
    }
}

//! Helpers shared by the checks: unique names, key scopes with cleanup, and assertions that
//! turn provider results into readable [`Failure`]s.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

use super::{CheckResult, Failure, Outcome};
use keygate_core::SignInput;
use keygate_core::crypto::EncryptionContext;
use keygate_core::error::{ErrorKind, Result};
use keygate_core::key::{CreateKeyRequest, KeyMetadata, KeySpec, KeyUsage};
use keygate_core::provider::KeyProvider;

/// Returns a [`Failure`] from the enclosing check (or `async` block) when `cond` is false.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($crate::Failure::new(format!($($fmt)+)));
        }
    };
}
pub(crate) use ensure;

/// Longest check tag put in a key name, so names stay within the strictest backend limit
/// (GCP: 63 characters) once `kgc-` and the 16-digit random suffix are added.
const MAX_TAG: usize = 40;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 64 unpredictable-enough bits: time, a process counter and `RandomState`'s per-process
/// random keys. Test names and test plaintexts only; not for key material.
pub(crate) fn random_u64() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    RandomState::new().hash_one((nanos, count, std::process::id()))
}

/// `n` random bytes for plaintexts and messages.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        out.extend_from_slice(&random_u64().to_le_bytes());
    }
    out.truncate(n);
    out
}

/// A key name unique across runs and processes: `kgc-<tag>-<16 hex digits>`. Only lowercase
/// letters, digits and `-`, at most 61 characters, so it is valid for every backend (AWS
/// aliases, Azure and GCP key names) as well as for [`keygate_core::validate_name`].
pub(crate) fn unique_name(tag: &str) -> String {
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(MAX_TAG)
        .collect();
    format!("kgc-{tag}-{:016x}", random_u64())
}

/// Returns a skip naming the capability when `spec` is not in `key_specs`.
pub(crate) fn need_spec(p: &dyn KeyProvider, spec: KeySpec) -> Option<Outcome> {
    if p.capabilities().key_specs.contains(&spec) {
        None
    } else {
        Some(Outcome::Skipped(format!(
            "{spec} is not in capabilities.key_specs"
        )))
    }
}

/// A skip for the reason `why` (which names the capability).
pub(crate) fn skip(why: impl Into<String>) -> CheckResult {
    Ok(Outcome::Skipped(why.into()))
}

/// Turns a provider error into a failure naming the step.
pub(crate) trait Step<T> {
    /// `what` describes the operation: `encrypt(kgc-x-.., 100 bytes)`.
    fn step(self, what: impl fmt::Display) -> std::result::Result<T, Failure>;
}

impl<T> Step<T> for Result<T> {
    fn step(self, what: impl fmt::Display) -> std::result::Result<T, Failure> {
        self.map_err(|e| Failure::new(format!("{what} failed: {}: {e}", e.kind())))
    }
}

/// Asserts that `result` is an error of kind `want`. The `Ok` value is never printed: it may
/// be a plaintext.
pub(crate) fn expect_err<T>(
    what: impl fmt::Display,
    result: Result<T>,
    want: ErrorKind,
) -> std::result::Result<(), Failure> {
    match result {
        Err(e) if e.kind() == want => Ok(()),
        Err(e) => Err(Failure::new(format!(
            "{what}: expected {want}, got {}: {e}",
            e.kind()
        ))),
        Ok(_) => Err(Failure::new(format!(
            "{what}: expected {want}, but it succeeded"
        ))),
    }
}

/// Asserts `result` is `Ok(expected)` for a boolean verification.
pub(crate) fn expect_bool(
    what: impl fmt::Display,
    result: Result<bool>,
    expected: bool,
) -> std::result::Result<(), Failure> {
    match result {
        Ok(got) if got == expected => Ok(()),
        Ok(got) => Err(Failure::new(format!(
            "{what}: expected Ok({expected}), got Ok({got})"
        ))),
        Err(e) => Err(Failure::new(format!(
            "{what}: expected Ok({expected}), got {}: {e}",
            e.kind()
        ))),
    }
}

/// True when `actual` is within `slack_days` of `now + days`.
pub(crate) fn about_days_from_now(actual: OffsetDateTime, days: u32, slack_days: i64) -> bool {
    let expected = OffsetDateTime::now_utc() + time::Duration::days(i64::from(days));
    (actual - expected).abs() <= time::Duration::days(slack_days)
}

/// `bytes` with the byte at `index` inverted.
pub(crate) fn flipped(bytes: &[u8], index: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    if let Some(b) = out.get_mut(index) {
        *b ^= 0xff;
    }
    out
}

/// A context used by the encryption checks.
pub(crate) fn context(value: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "conformance")
        .with("tenant", value)
}

/// The keys one check creates, so they can be scheduled for deletion when it ends.
pub(crate) struct Keys<'a> {
    provider: &'a dyn KeyProvider,
    tag: &'static str,
    created: Mutex<Vec<String>>,
}

impl<'a> Keys<'a> {
    /// A scope for the check tagged `tag` (used in key names).
    pub(crate) fn new(provider: &'a dyn KeyProvider, tag: &'static str) -> Self {
        Self {
            provider,
            tag,
            created: Mutex::new(Vec::new()),
        }
    }

    /// A fresh unique key name for this check.
    pub(crate) fn name(&self) -> String {
        unique_name(self.tag)
    }

    /// Creates a key of `spec` (with `usage`, or the spec's default) under a fresh name.
    pub(crate) async fn create(
        &self,
        spec: KeySpec,
        usage: Option<KeyUsage>,
    ) -> std::result::Result<KeyMetadata, Failure> {
        let req = CreateKeyRequest {
            usage,
            ..CreateKeyRequest::new(self.name(), spec)
        };
        self.create_with(req).await
    }

    /// Creates a key as `req` says and checks the answer names the requested key.
    pub(crate) async fn create_with(
        &self,
        req: CreateKeyRequest,
    ) -> std::result::Result<KeyMetadata, Failure> {
        let what = format!(
            "create_key({}, {}, usage {})",
            req.name,
            req.spec,
            req.usage.map_or("default", KeyUsage::as_str)
        );
        let meta = self.provider.create_key(req).await.step(&what)?;
        self.remember(&meta.id);
        Ok(meta)
    }

    /// Creates a key and returns the provider's raw answer, for checks that expect an error; a
    /// key created by mistake is still cleaned up.
    pub(crate) async fn try_create(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        let result = self.provider.create_key(req).await;
        if let Ok(meta) = &result {
            self.remember(&meta.id);
        }
        result
    }

    /// Records a key created outside [`Keys::create_with`] (or by accident) for cleanup.
    pub(crate) fn remember(&self, id: &str) {
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id.to_owned());
    }

    /// Runs the check body, then schedules every key it created for deletion with the
    /// shortest window, ignoring errors (the key may already be pending or destroyed).
    pub(crate) async fn finish(&self, body: impl Future<Output = CheckResult>) -> CheckResult {
        let result = body.await;
        let ids = std::mem::take(&mut *self.created.lock().unwrap_or_else(|p| p.into_inner()));
        let days = self.provider.capabilities().deletion_window.min;
        let cleanups = ids
            .iter()
            .map(|id| self.provider.schedule_deletion(id, days));
        let _ = futures::future::join_all(cleanups).await;
        result
    }
}

/// The spec lifecycle checks use: the cheapest supported one (AES-256, then HMAC, then EC,
/// then whatever is listed). `None` when the provider lists no spec at all.
pub(crate) fn cheap_spec(p: &dyn KeyProvider) -> Option<KeySpec> {
    let specs = &p.capabilities().key_specs;
    [
        KeySpec::Aes256,
        KeySpec::HmacSha256,
        KeySpec::EcP256,
        KeySpec::EcP384,
    ]
    .into_iter()
    .find(|s| specs.contains(s))
    .or_else(|| specs.first().copied())
}

/// The usage the checks create a key of `spec` with when they only need *a* key: RSA keys are
/// created for signing, which every backend supports, and everything else takes its default.
pub(crate) fn plain_usage(spec: KeySpec) -> Option<KeyUsage> {
    spec.is_rsa().then_some(KeyUsage::Sign)
}

/// Uses the key for what its usage allows (encrypt, sign or MAC), so lifecycle checks can see
/// whether a state refuses or permits cryptographic use, whatever the spec.
pub(crate) async fn exercise(p: &dyn KeyProvider, key: &KeyMetadata) -> Result<()> {
    let message = b"keygate conformance";
    match key.usage {
        KeyUsage::Encrypt => p
            .encrypt(&key.id, message, &EncryptionContext::new())
            .await
            .map(drop),
        KeyUsage::Sign => {
            let algorithm = key
                .spec
                .signing_algorithms()
                .first()
                .copied()
                .ok_or_else(|| {
                    keygate_core::Error::invalid(format!("{} has no signing algorithm", key.spec))
                })?;
            p.sign(&key.id, None, SignInput::Message(message), algorithm)
                .await
                .map(drop)
        }
        KeyUsage::Mac => p.generate_mac(&key.id, None, message).await.map(drop),
        other => Err(keygate_core::Error::unsupported(format!(
            "the conformance suite cannot exercise keys of usage {other}"
        ))),
    }
}

/// The operation [`exercise`] performs, for messages.
pub(crate) fn exercise_name(key: &KeyMetadata) -> String {
    let op = match key.usage {
        KeyUsage::Encrypt => "encrypt",
        KeyUsage::Sign => "sign",
        KeyUsage::Mac => "generate_mac",
        _ => "use",
    };
    format!("{op}({} {}, {})", key.spec, key.id, key.state)
}

/// True when `text` shows `secret` in a recognisable form: as text, hex, base64 or the
/// `Debug` rendering of its bytes.
pub(crate) fn leaks(text: &str, secret: &[u8]) -> bool {
    use base64::Engine as _;
    let head = &secret[..secret.len().min(8)];
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let debug_list = format!("{head:?}");
    let debug_list = debug_list.trim_start_matches('[').trim_end_matches(']');
    let lower = text.to_ascii_lowercase();
    (secret.len() >= 8 && std::str::from_utf8(secret).is_ok_and(|s| text.contains(s)))
        || lower.contains(&hex)
        || text.contains(&base64::engine::general_purpose::STANDARD.encode(secret))
        || (head.len() >= 4 && text.contains(debug_list))
}

/// Joins the failures of sub-cases run together into one failure, or passes.
pub(crate) fn all_passed(results: Vec<std::result::Result<(), Failure>>) -> CheckResult {
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.err().map(|f| f.to_string()))
        .collect();
    if failures.is_empty() {
        Ok(Outcome::Passed)
    } else {
        Err(Failure::new(failures.join("; ")))
    }
}

//! Tests of the suite itself: the list, the names, the runner and the macro. A provider that
//! answers every call with an error must fail every check — no check is vacuous.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::support::{expect_err, leaks, unique_name};
use super::*;
use keygate_core::crypto::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, MacTag, PublicKey,
    SecretBytes, SignInput, Signature,
};
use keygate_core::error::{Error, ErrorKind, Result};
use keygate_core::key::{
    CreateKeyRequest, KeyMetadata, KeySpec, KeyUpdate, KeyVersion, ProviderKind, RotationSchedule,
    SigningAlgorithm,
};
use keygate_core::policy::Policy;
use keygate_core::provider::{
    Capabilities, DayRange, ListKeysRequest, Page, ProviderInfo, VerifyMode,
};

/// Claims every capability (but one spec, so the unsupported-spec check runs) and fails every
/// call. [`Broken::meant_for`] gives the one check about undeclared capabilities a provider
/// that declares none of the version operations, since it skips when all are declared.
#[derive(Debug)]
struct Broken {
    info: ProviderInfo,
    caps: Capabilities,
}

impl Broken {
    fn new() -> Self {
        let specs: Vec<KeySpec> = KeySpec::ALL
            .into_iter()
            .filter(|s| *s != KeySpec::HmacSha512)
            .collect();
        Self {
            info: ProviderInfo {
                name: "broken".into(),
                kind: ProviderKind::Local,
                uri_prefix: "local://".into(),
            },
            caps: Capabilities::builder()
                .key_specs(specs.clone())
                .rsa_encryption(true)
                .deletion_window(DayRange::new(7, 30))
                .rotation_period(Some(DayRange::new(1, 3650)))
                .rotatable_specs(specs.clone())
                .scheduled_rotation_specs(specs)
                .list_versions(true)
                .version_state(true)
                .version_destruction(true)
                .primary_selection(true)
                .raw_encryption(vec![
                    EncryptionAlgorithm::RsaOaepSha256,
                    EncryptionAlgorithm::RsaOaepSha1,
                    EncryptionAlgorithm::RsaPkcs1V15,
                ])
                .expiry_policy(true)
                .data_key_bytes(true)
                .asymmetric_context(true)
                .max_plaintext_bytes(4096)
                .data_key_specs(vec![DataKeySpec::Aes256, DataKeySpec::Aes128])
                .self_describing_ciphertext(true)
                .verify(VerifyMode::Remote)
                .digest_signing(true)
                .one_signing_algorithm_per_key(false)
                .key_policy(true)
                .native_policy_format(None)
                .labels(true)
                .max_page_size(100)
                .policy_sample(vec![
                    keygate_core::policy::Binding::role("user:x@example.com", "viewer"),
                    keygate_core::policy::Binding::actions("user:y@example.com", ["encrypt"]),
                ])
                .build(),
        }
    }
}

/// The check that runs only where a version capability is not declared.
const UNDECLARED: &str = "undeclared_version_operations_are_unsupported";

impl Broken {
    /// The broken provider against which `check` runs rather than skips: every capability
    /// but, for [`UNDECLARED`], the version operations.
    fn meant_for(check: &str) -> Self {
        let mut p = Self::new();
        if check == UNDECLARED {
            p.caps.version_state = false;
            p.caps.version_destruction = false;
            p.caps.primary_selection = false;
        }
        p
    }
}

fn down<T>() -> Result<T> {
    Err(Error::unavailable("broken on purpose"))
}

#[async_trait]
impl KeyProvider for Broken {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    async fn list_keys(&self, _: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        down()
    }
    async fn describe_key(&self, _: &str) -> Result<KeyMetadata> {
        down()
    }
    async fn create_key(&self, _: CreateKeyRequest) -> Result<KeyMetadata> {
        down()
    }
    async fn update_key(&self, _: &str, _: KeyUpdate) -> Result<KeyMetadata> {
        down()
    }
    async fn enable_key(&self, _: &str) -> Result<KeyMetadata> {
        down()
    }
    async fn disable_key(&self, _: &str) -> Result<KeyMetadata> {
        down()
    }
    async fn schedule_deletion(&self, _: &str, _: u32) -> Result<KeyMetadata> {
        down()
    }
    async fn cancel_deletion(&self, _: &str) -> Result<KeyMetadata> {
        down()
    }
    async fn list_versions(&self, _: &str) -> Result<Vec<KeyVersion>> {
        down()
    }
    async fn rotate_key(&self, _: &str) -> Result<KeyVersion> {
        down()
    }
    async fn get_rotation(&self, _: &str) -> Result<Option<RotationSchedule>> {
        down()
    }
    async fn set_rotation(
        &self,
        _: &str,
        _: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        down()
    }
    async fn encrypt(&self, _: &str, _: &[u8], _: &EncryptionContext) -> Result<Ciphertext> {
        down()
    }
    async fn decrypt(
        &self,
        _: Option<&str>,
        _: Option<&str>,
        _: &[u8],
        _: &EncryptionContext,
    ) -> Result<SecretBytes> {
        down()
    }
    async fn generate_data_key(
        &self,
        _: &str,
        _: DataKeySpec,
        _: &EncryptionContext,
    ) -> Result<DataKey> {
        down()
    }
    async fn sign(
        &self,
        _: &str,
        _: Option<&str>,
        _: SignInput<'_>,
        _: SigningAlgorithm,
    ) -> Result<Signature> {
        down()
    }
    async fn verify(
        &self,
        _: &str,
        _: Option<&str>,
        _: SignInput<'_>,
        _: &[u8],
        _: SigningAlgorithm,
    ) -> Result<bool> {
        down()
    }
    async fn generate_mac(&self, _: &str, _: Option<&str>, _: &[u8]) -> Result<MacTag> {
        down()
    }
    async fn verify_mac(&self, _: &str, _: Option<&str>, _: &[u8], _: &[u8]) -> Result<bool> {
        down()
    }
    async fn get_public_key(&self, _: &str, _: Option<&str>) -> Result<PublicKey> {
        down()
    }
    async fn get_key_policy(&self, _: &str) -> Result<Policy> {
        down()
    }
    async fn set_key_policy(&self, _: &str, _: Policy) -> Result<Policy> {
        down()
    }
    async fn tick(&self, _: OffsetDateTime) -> Result<keygate_core::provider::Maintenance> {
        down()
    }
}

#[test]
fn there_are_enough_uniquely_named_checks() {
    let checks = checks();
    assert!(checks.len() >= 25, "only {} checks", checks.len());
    let mut names: Vec<&str> = checks.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), checks.len(), "a check is listed twice");
    assert!(checks.iter().any(|c| c.exclusive));
}

#[test]
fn key_names_are_unique_and_valid_everywhere() {
    let a = unique_name("a_check_with_a_rather_long_name_that_goes_on_and_on_and_on");
    let b = unique_name("a_check_with_a_rather_long_name_that_goes_on_and_on_and_on");
    assert_ne!(a, b);
    for name in [&a, &b] {
        keygate_core::validate_name("key", name).expect("a valid key name");
        assert!(name.len() <= 63, "{name} is too long for GCP");
        assert!(name.starts_with("kgc-a-check-with"));
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name} has a character Azure or AWS aliases refuse"
        );
    }
}

#[test]
fn failures_never_show_the_value() {
    let ok: Result<SecretBytes> = Ok(zeroize::Zeroizing::new(b"top-secret-bytes".to_vec()));
    let f = expect_err("decrypt", ok, ErrorKind::IntegrityFailure).expect_err("Ok is not an error");
    assert!(!f.message().contains("top-secret"));
    assert!(f.message().contains("integrity_failure"));
    let wrong = expect_err("decrypt", down::<()>(), ErrorKind::IntegrityFailure)
        .expect_err("the wrong kind is an error");
    assert!(wrong.message().contains("got unavailable"), "{wrong}");
}

#[test]
fn leaks_spots_text_hex_base64_and_byte_lists() {
    let secret = b"kgc-secret-0123456789";
    assert!(leaks("x kgc-secret-0123456789 y", secret));
    assert!(leaks("6b67632d7365637265742d30313233343536373839", secret));
    assert!(leaks("a2djLXNlY3JldC0wMTIzNDU2Nzg5", secret));
    assert!(leaks(
        "bytes: [107, 103, 99, 45, 115, 101, 99, 114, 101]",
        secret
    ));
    assert!(!leaks("DataKey { plaintext: <redacted 32 bytes> }", secret));
}

#[tokio::test]
async fn a_broken_provider_fails_every_check() {
    let report = run_all(&Broken::new()).await;
    assert_eq!(report.checks.len(), checks().len());
    let undeclared = report.checks.iter().find(|c| c.name == UNDECLARED).unwrap();
    assert_eq!(
        undeclared.result,
        Ok(Outcome::Skipped(
            "every version capability is declared".into()
        ))
    );
    let alone = run_one(&Broken::meant_for(UNDECLARED), UNDECLARED).await;
    let not_failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.name != UNDECLARED)
        .chain(&alone.checks)
        .filter(|c| c.result.is_ok())
        .map(ToString::to_string)
        .collect();
    assert!(not_failed.is_empty(), "vacuous checks: {not_failed:#?}");
    assert_eq!(alone.failures().count(), 1, "{alone}");
    let text = report.to_string();
    assert!(text.contains("FAILED   unknown_key_is_not_found"), "{text}");
    assert!(
        text.contains("expected not_found, got unavailable"),
        "{text}"
    );
}

#[tokio::test]
#[should_panic(expected = "conformance check(s) FAILED against provider `broken`")]
async fn assert_passed_panics_on_failure() {
    run_one(&Broken::new(), "symmetric_roundtrip")
        .await
        .assert_passed();
}

#[tokio::test]
async fn run_one_refuses_unknown_names() {
    let report = run_one(&Broken::new(), "no_such_check").await;
    assert_eq!(report.failures().count(), 1);
}

#[test]
fn handles_accept_providers_and_arcs() {
    let dynamic: keygate_core::DynProvider = std::sync::Arc::new(Broken::new());
    let concrete = std::sync::Arc::new(Broken::new());
    assert_eq!(dynamic.provider().info().name, "broken");
    assert_eq!(concrete.provider().info().name, "broken");
    assert_eq!(Broken::new().provider().info().name, "broken");
}

#[test]
fn a_skipped_setup_runs_nothing_and_passes() {
    // The broken provider would fail the check; a skip must not even build it.
    __private::run_check_test("symmetric_roundtrip", async {
        Setup::<Broken>::Skip("no backend configured".into())
    });
}

#[test]
#[should_panic(expected = "FAILED")]
fn a_ready_setup_runs_the_check() {
    __private::run_check_test("symmetric_roundtrip", async { Setup::Ready(Broken::new()) });
}

/// The macro expands to one test per check; against the broken provider meant for it each
/// must fail.
mod generated {
    use super::Broken;

    crate::conformance_tests!(
        #[should_panic(expected = "FAILED")] => |check| async move { Broken::meant_for(check) }
    );
}

#[tokio::test]
async fn a_provider_without_digest_signing_skips_the_digest_check() {
    let mut p = Broken::new();
    p.caps.digest_signing = false;
    let report = run_one(&p, "sign_digest_matches_sign").await;
    assert_eq!(
        report.checks[0].result,
        Ok(Outcome::Skipped(
            "capabilities.digest_signing is false".into()
        ))
    );
}

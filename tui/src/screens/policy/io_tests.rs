//! `run` against a gateway double: policies in memory, every call recorded, an optional
//! error for the next write, an optional cost report (the cost screen's tests use the double
//! too); every other method is unsupported.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::BoxStream;
use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::{
    Alias, Decrypted, Gateway, GatewayStatus, IssuedToken, KeyListing, ProviderSummary, Resolved,
    SealingKey, TokenInfo, TokenRequest,
};
use keygate_core::audit::{AuditEvent, AuditQuery, AuditVerification};
use keygate_core::envelope::EnvelopeHeader;
use keygate_core::{
    Capabilities, Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, DayRange, EncryptionContext,
    Error, ErrorKind, KeyLocator, KeyMetadata, KeyRef, KeySpec, KeyState, KeyUpdate, KeyUsage,
    KeyVersion, MacTag, Page, Policy, ProviderKind, PublicKey, Result, RotationSchedule,
    SecretBytes, SignInput, Signature, SigningAlgorithm, VerifyMode,
};
use tokio::sync::mpsc;

use super::doc::Doc;
use super::fixtures::{GATEWAY_TOML, gateway_doc, key_target, local_doc};
use super::{Cmd, Msg, run};
use crate::app::{Action, PolicyTarget};
use crate::screens::Emit;

fn unsupported() -> Error {
    Error::unsupported("not used by the policy editor")
}

/// The double.
#[derive(Debug, Default)]
pub struct FakeGateway {
    /// The gateway access policy.
    pub access: Mutex<AccessPolicy>,
    /// The key policy of every key.
    pub key_policy: Mutex<Policy>,
    /// Whether the key's provider has key policies.
    pub no_key_policies: bool,
    /// The error the next write returns.
    pub fail_write: Mutex<Option<Error>>,
    /// Every call, by name and argument.
    pub calls: Mutex<Vec<String>>,
    /// What the next `cost` answers; unsupported when unset, as a gateway without a cost view.
    pub cost: Mutex<Option<Result<keygate_core::cost::CostReport>>>,
}

impl FakeGateway {
    fn record(&self, call: String) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }

    fn write_error(&self) -> Option<Error> {
        self.fail_write
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

fn capabilities(key_policy: bool) -> Capabilities {
    Capabilities::builder()
        .key_specs(vec![KeySpec::Aes256])
        .rsa_encryption(false)
        .deletion_window(DayRange::new(7, 30))
        .rotation_period(Some(DayRange::new(90, 2560)))
        .rotatable_specs(vec![KeySpec::Aes256])
        .scheduled_rotation_specs(vec![KeySpec::Aes256])
        .list_versions(true)
        .asymmetric_context(false)
        .max_plaintext_bytes(4096)
        .data_key_specs(vec![DataKeySpec::Aes256])
        .self_describing_ciphertext(false)
        .verify(VerifyMode::Remote)
        .key_policy(key_policy)
        .native_policy_format(Some("aws-key-policy".into()))
        .labels(true)
        .max_page_size(100)
        .policy_sample(Vec::new())
        .digest_signing(false)
        .one_signing_algorithm_per_key(false)
        .build()
}

/// `value` as the answer about `key` (the fake's one key, in provider `aws`).
fn resolved<T>(key: &KeyLocator, value: T) -> Resolved<T> {
    Resolved {
        key: KeyRef::new("aws", "1234"),
        uri: key.to_string(),
        value,
    }
}

#[async_trait]
impl Gateway for FakeGateway {
    async fn providers(&self) -> Result<Vec<ProviderSummary>> {
        self.record("providers".into());
        Ok(vec![ProviderSummary {
            name: "aws".into(),
            kind: ProviderKind::Aws,
            uri_prefix: "aws-kms://".into(),
            capabilities: capabilities(!self.no_key_policies),
        }])
    }
    async fn describe_key(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.record(format!("describe_key {key}"));
        Ok(KeyMetadata {
            import: None,
            uri: key.to_string(),
            provider: "aws".into(),
            id: "1234".into(),
            name: "payments".into(),
            spec: KeySpec::Aes256,
            usage: KeyUsage::Encrypt,
            state: KeyState::Enabled,
            primary_version: None,
            rotation: None,
            labels: Default::default(),
            description: String::new(),
            created: time::macros::datetime!(2026-01-01 00:00 UTC),
        })
    }
    async fn get_key_policy(&self, key: &KeyLocator) -> Result<Resolved<Policy>> {
        self.record(format!("get_key_policy {key}"));
        let policy = self
            .key_policy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(resolved(key, policy))
    }
    async fn set_key_policy(&self, key: &KeyLocator, policy: Policy) -> Result<Resolved<Policy>> {
        self.record(format!("set_key_policy {key} etag={:?}", policy.etag));
        if let Some(e) = self.write_error() {
            return Err(e);
        }
        *self.key_policy.lock().unwrap_or_else(|e| e.into_inner()) = policy.clone();
        Ok(resolved(key, policy))
    }
    async fn get_access_policy(&self) -> Result<AccessPolicy> {
        self.record("get_access_policy".into());
        Ok(self
            .access
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }
    async fn set_access_policy(&self, policy: AccessPolicy) -> Result<AccessPolicy> {
        self.record(format!(
            "set_access_policy {} statements",
            policy.statements.len()
        ));
        if let Some(e) = self.write_error() {
            return Err(e);
        }
        *self.access.lock().unwrap_or_else(|e| e.into_inner()) = policy.clone();
        Ok(policy)
    }
    async fn whoami(&self) -> Result<Identity> {
        Err(unsupported())
    }
    async fn status(&self) -> Result<GatewayStatus> {
        Err(unsupported())
    }
    async fn list_keys(&self, _provider: Option<&str>) -> Result<KeyListing> {
        Err(unsupported())
    }
    async fn create_key(
        &self,
        _provider: Option<&str>,
        _req: CreateKeyRequest,
    ) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn update_key(&self, _key: &KeyLocator, _update: KeyUpdate) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn enable_key(&self, _key: &KeyLocator) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn disable_key(&self, _key: &KeyLocator) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn schedule_deletion(
        &self,
        _key: &KeyLocator,
        _pending_days: u32,
    ) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn cancel_deletion(&self, _key: &KeyLocator) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn list_versions(&self, _key: &KeyLocator) -> Result<Resolved<Vec<KeyVersion>>> {
        Err(unsupported())
    }
    async fn rotate_key(&self, _key: &KeyLocator) -> Result<Resolved<KeyVersion>> {
        Err(unsupported())
    }
    async fn get_rotation(&self, _key: &KeyLocator) -> Result<Resolved<Option<RotationSchedule>>> {
        Err(unsupported())
    }
    async fn set_rotation(
        &self,
        _key: &KeyLocator,
        _schedule: Option<RotationSchedule>,
    ) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn get_public_key(
        &self,
        _key: &KeyLocator,
        _version: Option<&str>,
    ) -> Result<Resolved<PublicKey>> {
        Err(unsupported())
    }
    async fn encrypt(
        &self,
        _key: &KeyLocator,
        _plaintext: &[u8],
        _context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        Err(unsupported())
    }
    async fn decrypt(&self, _envelope: &[u8], _context: &EncryptionContext) -> Result<Decrypted> {
        Err(unsupported())
    }
    async fn decrypt_native(
        &self,
        _key: &KeyLocator,
        _version: Option<&str>,
        _ciphertext: &[u8],
        _context: &EncryptionContext,
    ) -> Result<Decrypted> {
        Err(unsupported())
    }
    async fn encrypt_native(
        &self,
        _key: &KeyLocator,
        _plaintext: &[u8],
        _context: &EncryptionContext,
    ) -> Result<Resolved<Ciphertext>> {
        Err(unsupported())
    }
    async fn generate_random(&self, _bytes: usize) -> Result<SecretBytes> {
        Err(unsupported())
    }
    async fn generate_data_key(
        &self,
        _key: &KeyLocator,
        _spec: DataKeySpec,
        _context: &EncryptionContext,
    ) -> Result<Resolved<DataKey>> {
        Err(unsupported())
    }
    async fn begin_envelope(
        &self,
        _key: &KeyLocator,
        _context: &EncryptionContext,
    ) -> Result<SealingKey> {
        Err(unsupported())
    }
    async fn open_envelope(
        &self,
        _header: &EnvelopeHeader,
        _context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        Err(unsupported())
    }
    async fn sign(
        &self,
        _key: &KeyLocator,
        _version: Option<&str>,
        _input: SignInput<'_>,
        _algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<Signature>> {
        Err(unsupported())
    }
    async fn verify(
        &self,
        _key: &KeyLocator,
        _version: Option<&str>,
        _input: SignInput<'_>,
        _signature: &[u8],
        _algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<bool>> {
        Err(unsupported())
    }
    async fn generate_mac(
        &self,
        _key: &KeyLocator,
        _version: Option<&str>,
        _message: &[u8],
    ) -> Result<Resolved<MacTag>> {
        Err(unsupported())
    }
    async fn verify_mac(
        &self,
        _key: &KeyLocator,
        _version: Option<&str>,
        _message: &[u8],
        _mac: &[u8],
    ) -> Result<Resolved<bool>> {
        Err(unsupported())
    }
    async fn enable_version(&self, _key: &KeyLocator, _v: &str) -> Result<Resolved<KeyVersion>> {
        Err(unsupported())
    }
    async fn disable_version(&self, _key: &KeyLocator, _v: &str) -> Result<Resolved<KeyVersion>> {
        Err(unsupported())
    }
    async fn destroy_version(&self, _key: &KeyLocator, _v: &str) -> Result<Resolved<KeyVersion>> {
        Err(unsupported())
    }
    async fn restore_version(&self, _key: &KeyLocator, _v: &str) -> Result<Resolved<KeyVersion>> {
        Err(unsupported())
    }
    async fn set_primary_version(&self, _key: &KeyLocator, _v: &str) -> Result<KeyMetadata> {
        Err(unsupported())
    }
    async fn list_aliases(&self) -> Result<Vec<Alias>> {
        Err(unsupported())
    }
    async fn create_alias(&self, _name: &str, _key: &KeyLocator) -> Result<Alias> {
        Err(unsupported())
    }
    async fn update_alias(&self, _name: &str, _key: &KeyLocator) -> Result<Alias> {
        Err(unsupported())
    }
    async fn delete_alias(&self, _name: &str) -> Result<()> {
        Err(unsupported())
    }
    async fn query_audit(&self, _query: &AuditQuery) -> Result<Page<AuditEvent>> {
        Err(unsupported())
    }
    async fn follow_audit(
        &self,
        _query: &AuditQuery,
    ) -> Result<BoxStream<'static, Result<AuditEvent>>> {
        Err(unsupported())
    }
    async fn verify_audit(&self) -> Result<AuditVerification> {
        Err(unsupported())
    }
    async fn create_token(&self, _req: TokenRequest) -> Result<IssuedToken> {
        Err(unsupported())
    }
    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        Err(unsupported())
    }
    async fn revoke_token(&self, _id: &str) -> Result<TokenInfo> {
        Err(unsupported())
    }
    async fn cost(&self, since: time::OffsetDateTime) -> Result<keygate_core::cost::CostReport> {
        self.record(format!("cost {}", crate::fmt::when(since)));
        self.cost
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .unwrap_or_else(|| Err(Error::unsupported("the cost view")))
    }
}

async fn run_one(cmd: Cmd, gw: Arc<FakeGateway>) -> Msg {
    let (tx, mut rx) = mpsc::unbounded_channel();
    run(cmd, gw, Emit::new(tx, Action::Policy)).await;
    match rx.recv().await {
        Some(Action::Policy(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn run_loads_both_kinds_of_policy() {
    let gw = Arc::new(FakeGateway::default());
    *gw.access.lock().unwrap() = AccessPolicy::from_toml(GATEWAY_TOML).unwrap();
    let msg = run_one(Cmd::Load(PolicyTarget::Gateway), Arc::clone(&gw)).await;
    let Msg::Loaded(PolicyTarget::Gateway, r) = msg else {
        panic!()
    };
    assert_eq!(r.as_ref().as_ref().unwrap().doc, gateway_doc());

    let Doc::Key(p) = local_doc() else { panic!() };
    *gw.key_policy.lock().unwrap() = p;
    let msg = run_one(Cmd::Load(key_target()), Arc::clone(&gw)).await;
    let Msg::Loaded(_, r) = msg else { panic!() };
    let l = (*r).unwrap();
    assert_eq!(l.doc, local_doc());
    assert_eq!(l.title, "payments (local://payments)");
    assert!(
        gw.calls
            .lock()
            .unwrap()
            .contains(&"get_key_policy local://payments".to_owned())
    );
}

#[tokio::test]
async fn run_reports_a_provider_without_key_policies() {
    let gw = Arc::new(FakeGateway {
        no_key_policies: true,
        ..FakeGateway::default()
    });
    let Msg::Loaded(_, r) = run_one(Cmd::Load(key_target()), Arc::clone(&gw)).await else {
        panic!()
    };
    let f = (*r).unwrap_err();
    assert_eq!(f.kind, ErrorKind::Unsupported);
    assert!(
        !gw.calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.starts_with("get_key_policy"))
    );
}

#[tokio::test]
async fn run_applies_with_the_etag_and_reports_errors() {
    let gw = Arc::new(FakeGateway::default());
    let msg = run_one(
        Cmd::Apply(key_target(), Box::new(local_doc())),
        Arc::clone(&gw),
    )
    .await;
    assert_eq!(msg, Msg::Applied(Ok(())));
    assert_eq!(
        gw.calls.lock().unwrap().last().unwrap(),
        "set_key_policy local://payments etag=Some(\"etag-1\")"
    );

    *gw.fail_write.lock().unwrap() = Some(Error::PermissionDenied("no policy:set".into()));
    let msg = run_one(
        Cmd::Apply(PolicyTarget::Gateway, Box::new(gateway_doc())),
        Arc::clone(&gw),
    )
    .await;
    let Msg::Applied(Err(f)) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(f.kind, ErrorKind::PermissionDenied);
    assert_eq!(
        *gw.access.lock().unwrap(),
        AccessPolicy::default(),
        "nothing stored"
    );
}

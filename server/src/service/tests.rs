//! The service layer over real local providers: authorization, audit rows, envelopes, the
//! data-key cache and failing closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::{Gateway, TokenRequest};
use keygate_core::audit::{AuditOutcome, AuditQuery};
use keygate_core::{
    Capabilities, Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, DynProvider,
    EncryptionContext, ErrorKind, KeyMetadata, KeyProvider, KeySpec, KeyUpdate, KeyVersion,
    ListKeysRequest, MacTag, Page, Policy, ProviderInfo, PublicKey, Result, RotationSchedule,
    SecretBytes, SignInput, Signature, SigningAlgorithm,
};
use keygate_providers::local::LocalProvider;

use super::{Service, Source};
use crate::audit::AuditConfig;
use crate::cache::CacheConfig;
use crate::registry::Registry;
use crate::store::GatewayStore;

/// A provider that counts data-key calls and forwards everything to a local provider, and
/// whose probe fails once it is set unreachable.
#[derive(Debug)]
pub(super) struct Counting {
    inner: LocalProvider,
    data_keys: AtomicUsize,
    decrypts: AtomicUsize,
    describes: AtomicUsize,
    unreachable: AtomicBool,
}

impl Counting {
    pub(super) fn new(inner: LocalProvider) -> Self {
        Self {
            inner,
            data_keys: AtomicUsize::new(0),
            decrypts: AtomicUsize::new(0),
            describes: AtomicUsize::new(0),
            unreachable: AtomicBool::new(false),
        }
    }

    /// From now on its probe fails as an unreachable backend does.
    pub(super) fn set_unreachable(&self) {
        self.unreachable.store(true, Ordering::SeqCst);
    }
}

#[async_trait]
impl KeyProvider for Counting {
    fn info(&self) -> &ProviderInfo {
        self.inner.info()
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        self.inner.list_keys(req).await
    }
    async fn describe_key(&self, id: &str) -> Result<KeyMetadata> {
        self.describes.fetch_add(1, Ordering::SeqCst);
        self.inner.describe_key(id).await
    }
    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        self.inner.create_key(req).await
    }
    async fn update_key(&self, id: &str, u: KeyUpdate) -> Result<KeyMetadata> {
        self.inner.update_key(id, u).await
    }
    async fn enable_key(&self, id: &str) -> Result<KeyMetadata> {
        self.inner.enable_key(id).await
    }
    async fn disable_key(&self, id: &str) -> Result<KeyMetadata> {
        self.inner.disable_key(id).await
    }
    async fn schedule_deletion(&self, id: &str, d: u32) -> Result<KeyMetadata> {
        self.inner.schedule_deletion(id, d).await
    }
    async fn cancel_deletion(&self, id: &str) -> Result<KeyMetadata> {
        self.inner.cancel_deletion(id).await
    }
    async fn list_versions(&self, id: &str) -> Result<Vec<KeyVersion>> {
        self.inner.list_versions(id).await
    }
    async fn rotate_key(&self, id: &str) -> Result<KeyVersion> {
        self.inner.rotate_key(id).await
    }
    async fn get_rotation(&self, id: &str) -> Result<Option<RotationSchedule>> {
        self.inner.get_rotation(id).await
    }
    async fn set_rotation(
        &self,
        id: &str,
        s: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        self.inner.set_rotation(id, s).await
    }
    async fn encrypt(&self, id: &str, p: &[u8], c: &EncryptionContext) -> Result<Ciphertext> {
        self.inner.encrypt(id, p, c).await
    }
    async fn decrypt(
        &self,
        id: Option<&str>,
        v: Option<&str>,
        ct: &[u8],
        c: &EncryptionContext,
    ) -> Result<SecretBytes> {
        self.decrypts.fetch_add(1, Ordering::SeqCst);
        self.inner.decrypt(id, v, ct, c).await
    }
    async fn generate_data_key(
        &self,
        id: &str,
        spec: DataKeySpec,
        c: &EncryptionContext,
    ) -> Result<DataKey> {
        self.data_keys.fetch_add(1, Ordering::SeqCst);
        self.inner.generate_data_key(id, spec, c).await
    }
    async fn sign(
        &self,
        id: &str,
        v: Option<&str>,
        m: SignInput<'_>,
        a: SigningAlgorithm,
    ) -> Result<Signature> {
        self.inner.sign(id, v, m, a).await
    }
    async fn verify(
        &self,
        id: &str,
        v: Option<&str>,
        m: SignInput<'_>,
        s: &[u8],
        a: SigningAlgorithm,
    ) -> Result<bool> {
        self.inner.verify(id, v, m, s, a).await
    }
    async fn generate_mac(&self, id: &str, v: Option<&str>, m: &[u8]) -> Result<MacTag> {
        self.inner.generate_mac(id, v, m).await
    }
    async fn verify_mac(&self, id: &str, v: Option<&str>, m: &[u8], t: &[u8]) -> Result<bool> {
        self.inner.verify_mac(id, v, m, t).await
    }
    async fn get_public_key(&self, id: &str, v: Option<&str>) -> Result<PublicKey> {
        self.inner.get_public_key(id, v).await
    }
    async fn get_key_policy(&self, id: &str) -> Result<Policy> {
        self.inner.get_key_policy(id).await
    }
    async fn set_key_policy(&self, id: &str, p: Policy) -> Result<Policy> {
        self.inner.set_key_policy(id, p).await
    }
    async fn probe(&self) -> Result<()> {
        if self.unreachable.load(Ordering::SeqCst) {
            return Err(keygate_core::Error::unavailable(format!(
                "provider `{}`: connection refused",
                self.info().name
            )));
        }
        self.inner.probe().await
    }
    async fn due(&self, now: time::OffsetDateTime) -> Result<keygate_core::DueMaintenance> {
        self.inner.due(now).await
    }
    async fn rotate_due(&self, id: &str, now: time::OffsetDateTime) -> Result<Option<KeyVersion>> {
        self.inner.rotate_due(id, now).await
    }
    async fn destroy_due(&self, id: &str, now: time::OffsetDateTime) -> Result<bool> {
        self.inner.destroy_due(id, now).await
    }
    async fn destroy_due_version(
        &self,
        id: &str,
        v: &str,
        now: time::OffsetDateTime,
    ) -> Result<bool> {
        self.inner.destroy_due_version(id, v, now).await
    }
    async fn mark_notified(&self, id: &str, v: &str) -> Result<bool> {
        self.inner.mark_notified(id, v).await
    }
    async fn enable_version(&self, id: &str, v: &str) -> Result<KeyVersion> {
        self.inner.enable_version(id, v).await
    }
    async fn disable_version(&self, id: &str, v: &str) -> Result<KeyVersion> {
        self.inner.disable_version(id, v).await
    }
    async fn destroy_version(&self, id: &str, v: &str) -> Result<KeyVersion> {
        self.inner.destroy_version(id, v).await
    }
    async fn restore_version(&self, id: &str, v: &str) -> Result<KeyVersion> {
        self.inner.restore_version(id, v).await
    }
    async fn set_primary_version(&self, id: &str, v: &str) -> Result<KeyMetadata> {
        self.inner.set_primary_version(id, v).await
    }
}

async fn start(cache: CacheConfig) -> (Arc<Service>, Arc<Counting>) {
    start_on(GatewayStore::in_memory().await.unwrap(), cache).await
}

/// [`start`] on `store`, which the test keeps a handle on to break it.
pub(super) async fn start_on(
    store: impl Into<Arc<dyn crate::store::Store>>,
    cache: CacheConfig,
) -> (Arc<Service>, Arc<Counting>) {
    let counting = Arc::new(Counting::new(
        LocalProvider::builder().build().await.unwrap(),
    ));
    let provider: DynProvider = counting.clone();
    let registry = Registry::new(vec![provider], store).unwrap();
    let service = Service::new(registry, &AuditConfig::default(), &cache)
        .await
        .unwrap();
    (service, counting)
}

fn who(principal: &str, role: &str) -> Identity {
    Identity {
        principal: principal.to_owned(),
        role: role.to_owned(),
    }
}

/// Creates an AES key named `name` through `session`.
async fn aes_key(session: &super::Session, name: &str) -> KeyMetadata {
    session
        .create_key(None, CreateKeyRequest::new(name, KeySpec::Aes256))
        .await
        .unwrap()
}

/// The audit chain verifies from end to end.
async fn assert_chain_intact(service: &Arc<Service>) {
    let verification = service.audit().verify().await.unwrap();
    assert!(verification.first_broken.is_none(), "{verification:?}");
}

fn labelled(name: &str, app: &str) -> CreateKeyRequest {
    let mut req = CreateKeyRequest::new(name, KeySpec::Aes256);
    req.labels.insert("app".into(), app.into());
    req
}

async fn rows(service: &Arc<Service>) -> Vec<keygate_core::audit::AuditEvent> {
    service
        .audit()
        .query(&AuditQuery {
            limit: Some(1000),
            ..AuditQuery::default()
        })
        .await
        .unwrap()
        .items
}

/// On every store backend (SQLite, and PostgreSQL when the test database is configured).
#[tokio::test]
async fn every_call_is_audited_with_who_what_and_how_it_ended() {
    for (_backend, store) in crate::store::tests::backends("every_call_is_audited").await {
        every_call_is_audited_on(store).await;
    }
}

async fn every_call_is_audited_on(store: Arc<dyn crate::store::Store>) {
    let (service, _) = start_on(store, CacheConfig::default()).await;
    let admin = service.local_admin().with_request_id("req-1");
    let key = aes_key(&admin, "orders").await;
    let ctx = EncryptionContext::new().with("tenant", "7");
    let sealed = admin
        .encrypt(&kl("orders"), b"secret total", &ctx)
        .await
        .unwrap();
    let opened = admin
        .decrypt(&sealed, &EncryptionContext::new())
        .await
        .unwrap();
    assert_eq!(opened.plaintext.as_slice(), b"secret total");
    assert_eq!(opened.key_uri, key.uri);
    assert_eq!(opened.context, ctx);
    let missing = admin.describe_key(&kl("nope")).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);

    let rows = rows(&service).await;
    let summary: Vec<(&str, AuditOutcome)> = rows
        .iter()
        .map(|r| (r.action.as_str(), r.outcome))
        .collect();
    assert_eq!(
        summary,
        [
            // An action: its intent (outcome not yet known), then its outcome.
            ("keys:create", AuditOutcome::Unknown),
            ("keys:create", AuditOutcome::Success),
            ("crypto:encrypt", AuditOutcome::Unknown),
            ("crypto:encrypt", AuditOutcome::Success),
            ("crypto:decrypt", AuditOutcome::Unknown),
            ("crypto:decrypt", AuditOutcome::Success),
            // A read, and a failure before acting: one row.
            ("keys:describe", AuditOutcome::Failure),
        ]
    );
    for r in &rows {
        assert_eq!(r.request_id, "req-1");
        assert_eq!(r.source, "cli");
        assert!(r.principal.starts_with("local:"));
    }
    // Each outcome row names its intent; intents and single rows name none.
    let intents: Vec<Option<u64>> = rows.iter().map(|r| r.intent_seq).collect();
    assert_eq!(intents, [None, Some(1), None, Some(3), None, Some(5), None]);
    assert_eq!(rows[2].key.as_deref(), Some(key.uri.as_str()));
    assert_eq!(rows[3].key.as_deref(), Some(key.uri.as_str()));
    assert_eq!(rows[3].key_version.as_deref(), Some("1"));
    assert_eq!(rows[6].error_kind.as_deref(), Some("not_found"));
    let verification = service.audit().verify().await.unwrap();
    assert_eq!(verification.unresolved_intents, 0, "{verification:?}");
    let text = format!("{rows:?}");
    assert!(!text.contains("secret total"));
    assert_chain_intact(&service).await;
}

#[tokio::test]
async fn roles_decide_and_denials_are_audited() {
    let (service, _) = start(CacheConfig::default()).await;
    let admin = service.local_admin();
    admin
        .create_key(None, labelled("billing-key", "billing"))
        .await
        .unwrap();
    admin
        .create_key(None, labelled("hr-key", "hr"))
        .await
        .unwrap();

    let app = service.session(who("billing", "app"), Source::Rest);
    let ctx = EncryptionContext::new();
    let sealed = app.encrypt(&kl("billing-key"), b"x", &ctx).await.unwrap();
    app.decrypt(&sealed, &ctx).await.unwrap();
    let denied = app.encrypt(&kl("hr-key"), b"x", &ctx).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::PermissionDenied);
    // Access taken away through keygate applies at once, despite the hot-path cache.
    admin
        .update_key(
            &kl("billing-key"),
            KeyUpdate {
                remove_labels: vec!["app".into()],
                ..KeyUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        app.encrypt(&kl("billing-key"), b"x", &ctx)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::PermissionDenied
    );
    let mut relabel = KeyUpdate::default();
    relabel.set_labels.insert("app".into(), "billing".into());
    admin.update_key(&kl("billing-key"), relabel).await.unwrap();
    let listed: Vec<String> = app
        .list_keys(None)
        .await
        .unwrap()
        .keys
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(listed, ["billing-key"]);
    // An app cannot manage keys, nor decrypt another app's envelope.
    let hr = service.session(who("hr", "app"), Source::Rest);
    assert_eq!(
        hr.decrypt(&sealed, &ctx).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        app.rotate_key(&kl("billing-key")).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );

    let auditor = service.session(who("carol", "auditor"), Source::Rest);
    assert_eq!(auditor.list_keys(None).await.unwrap().keys.len(), 2);
    for err in [
        auditor
            .create_key(None, CreateKeyRequest::new("new", KeySpec::Aes256))
            .await
            .unwrap_err(),
        auditor.rotate_key(&kl("hr-key")).await.unwrap_err(),
        auditor
            .encrypt(&kl("hr-key"), b"x", &ctx)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    }
    assert!(
        !auditor
            .query_audit(&AuditQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let operator = service.session(who("olga", "operator"), Source::Rest);
    operator.rotate_key(&kl("hr-key")).await.unwrap();
    assert_eq!(
        operator.decrypt(&sealed, &ctx).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied,
        "operators manage keys but do not use them"
    );

    let denied_rows: Vec<_> = rows(&service)
        .await
        .into_iter()
        .filter(|r| r.outcome == AuditOutcome::Denied)
        .map(|r| (r.principal, r.action))
        .collect();
    assert!(denied_rows.contains(&("billing".into(), "crypto:encrypt".into())));
    assert!(denied_rows.contains(&("carol".into(), "keys:create".into())));
    assert!(denied_rows.contains(&("carol".into(), "keys:rotate".into())));
    assert!(denied_rows.contains(&("olga".into(), "crypto:decrypt".into())));
}

#[tokio::test]
async fn custom_policy_and_tokens_go_through_the_same_checks() {
    let (service, _) = start(CacheConfig::default()).await;
    let admin = service.local_admin();
    aes_key(&admin, "prod-db").await;
    let policy = AccessPolicy::from_toml(
        r#"
        [roles.rotator]
        description = "rotates production keys"
        [[roles.rotator.statements]]
        effect = "allow"
        actions = ["keys:rotate", "keys:describe"]
        keys = { name = "prod-*" }
        "#,
    )
    .unwrap();
    admin.set_access_policy(policy).await.unwrap();
    let issued = admin
        .create_token(TokenRequest {
            principal: "robot".into(),
            role: "rotator".into(),
            expires_in_days: None,
            kind: Default::default(),
        })
        .await
        .unwrap();
    let identity = service.authenticate(&issued.token).await.unwrap();
    assert_eq!(identity, who("robot", "rotator"));
    let robot = service.session(identity, Source::Rest);
    robot.rotate_key(&kl("prod-db")).await.unwrap();
    assert_eq!(
        robot.disable_key(&kl("prod-db")).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    assert_eq!(
        robot.list_tokens().await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    // A token for a role that exists nowhere is refused.
    let err = admin
        .create_token(TokenRequest {
            principal: "x".into(),
            role: "no-such-role".into(),
            expires_in_days: None,
            kind: Default::default(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    admin.revoke_token(&issued.info.id).await.unwrap();
    assert_eq!(
        service
            .authenticate(&issued.token)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unauthenticated
    );
}

#[tokio::test]
async fn envelopes_bind_context_and_data_keys_unwrap_natively() {
    let (service, _) = start(CacheConfig::default()).await;
    let admin = service.local_admin();
    aes_key(&admin, "k").await;
    let ctx = EncryptionContext::new().with("purpose", "test");
    let sealed = admin.encrypt(&kl("k"), b"payload", &ctx).await.unwrap();
    let wrong = EncryptionContext::new().with("purpose", "other");
    assert_eq!(
        admin.decrypt(&sealed, &wrong).await.unwrap_err().kind(),
        ErrorKind::IntegrityFailure
    );
    let mut flipped = sealed.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    assert_eq!(
        admin.decrypt(&flipped, &ctx).await.unwrap_err().kind(),
        ErrorKind::IntegrityFailure
    );
    // Rotation: old envelopes still open, new ones use the new version.
    admin.rotate_key(&kl("k")).await.unwrap();
    assert_eq!(
        admin
            .decrypt(&sealed, &ctx)
            .await
            .unwrap()
            .key_version
            .as_deref(),
        Some("1")
    );
    let newer = admin.encrypt(&kl("k"), b"payload", &ctx).await.unwrap();
    assert_eq!(
        admin
            .decrypt(&newer, &ctx)
            .await
            .unwrap()
            .key_version
            .as_deref(),
        Some("2")
    );

    let dk = admin
        .generate_data_key(&kl("k"), DataKeySpec::Aes256, &ctx)
        .await
        .unwrap();
    let unwrapped = admin
        .decrypt_native(&kl("k"), None, &dk.value.ciphertext, &ctx)
        .await
        .unwrap();
    assert_eq!(unwrapped.plaintext, dk.value.plaintext);

    let sealing = admin.begin_envelope(&kl("k"), &ctx).await.unwrap();
    let data_key = admin.open_envelope(&sealing.header, &ctx).await.unwrap();
    assert_eq!(data_key, sealing.data_key);
}

#[tokio::test]
async fn the_cache_saves_provider_calls_within_its_limits_only() {
    let off = CacheConfig::default();
    let (service, counting) = start(off).await;
    let admin = service.local_admin();
    aes_key(&admin, "k").await;
    let ctx = EncryptionContext::new();
    for _ in 0..3 {
        let sealed = admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap();
        admin.decrypt(&sealed, &ctx).await.unwrap();
    }
    assert_eq!(
        counting.data_keys.load(Ordering::SeqCst),
        3,
        "off by default"
    );
    assert_eq!(counting.decrypts.load(Ordering::SeqCst), 3);

    let on = CacheConfig {
        enabled: true,
        max_messages: 2,
        ..CacheConfig::default()
    };
    let (service, counting) = start(on).await;
    let admin = service.local_admin();
    aes_key(&admin, "k").await;
    let mut sealed = Vec::new();
    for _ in 0..4 {
        sealed.push(admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap());
    }
    assert_eq!(
        counting.data_keys.load(Ordering::SeqCst),
        2,
        "two messages per data key"
    );
    for s in &sealed {
        admin.decrypt(s, &ctx).await.unwrap();
    }
    assert_eq!(
        counting.decrypts.load(Ordering::SeqCst),
        2,
        "one unwrap per data key"
    );
    // The cache never skips the checks: every call is still audited, intent then outcome.
    let crypto_rows = rows(&service)
        .await
        .into_iter()
        .filter(|r| r.action.starts_with("crypto:"))
        .count();
    assert_eq!(crypto_rows, 16);
    let auditor = service.session(who("carol", "auditor"), Source::Rest);
    assert_eq!(
        auditor.decrypt(&sealed[0], &ctx).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
}

#[tokio::test]
async fn crypto_fails_closed_when_the_audit_log_cannot_write() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store.clone(), CacheConfig::default()).await;
    let admin = service.local_admin();
    aes_key(&admin, "k").await;
    let ctx = EncryptionContext::new();
    let sealed = admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap();
    store.refuse_audit_inserts().await;
    for err in [
        admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap_err(),
        admin.decrypt(&sealed, &ctx).await.map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    }
    store.allow_audit_inserts().await;
    admin.decrypt(&sealed, &ctx).await.unwrap();
    assert_chain_intact(&service).await;
}

#[tokio::test]
async fn a_policy_set_by_another_process_applies_after_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    let open = || async {
        let local: DynProvider = Arc::new(LocalProvider::builder().build().await.unwrap());
        let store = GatewayStore::open(&path).await.unwrap();
        let registry = Registry::new(vec![local], store).unwrap();
        Service::new(registry, &AuditConfig::default(), &CacheConfig::default())
            .await
            .unwrap()
    };
    let server = open().await;
    let cli = open().await;
    let ops = server.session(who("olga", "operator"), Source::Rest);
    aes_key(&ops, "k").await;
    let deny = AccessPolicy::from_toml(
        "[[statements]]\neffect = \"deny\"\nprincipals = [\"olga\"]\nactions = [\"keys:rotate\"]\n",
    )
    .unwrap();
    cli.local_admin().set_access_policy(deny).await.unwrap();
    server.refresh_shared_state().await.unwrap();
    assert_eq!(
        ops.rotate_key(&kl("k")).await.unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
}

#[tokio::test]
async fn a_key_is_read_once_per_call_and_crypto_reuses_recent_reads() {
    let (service, counting) = start(CacheConfig::default()).await;
    let admin = service.local_admin();
    aes_key(&admin, "k").await;
    let describes = || counting.describes.load(Ordering::SeqCst);
    let before = describes();
    // By name: the lookup that found the key is also what authorization reads.
    admin.rotate_key(&kl("k")).await.unwrap();
    assert_eq!(describes() - before, 1);
    // By URI: one read for authorization.
    admin.rotate_key(&kl("local://k")).await.unwrap();
    assert_eq!(describes() - before, 2);
    // Crypto calls reuse the resolution of the last few seconds.
    let ctx = EncryptionContext::new();
    for _ in 0..3 {
        admin.encrypt(&kl("k"), b"m", &ctx).await.unwrap();
    }
    assert_eq!(describes() - before, 3);
}

#[tokio::test]
async fn ready_only_while_the_store_answers() {
    let store = GatewayStore::in_memory().await.unwrap();
    let (service, _) = start_on(store.clone(), CacheConfig::default()).await;
    service.ready().await.unwrap();
    store.close().await;
    let err = service.ready().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("gateway store"), "{err}");
}

/// A key reference as a caller would type it, parsed (test input is always well formed).
pub(super) fn kl(text: impl AsRef<str>) -> keygate_core::KeyLocator {
    keygate_core::KeyLocator::parse(text.as_ref()).expect("a well-formed key reference")
}

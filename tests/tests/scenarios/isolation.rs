//! Provider isolation in the registry: a plain name held by a local provider never waits for
//! a hung cloud, calls on the hung cloud are bounded and then skipped by its breaker, and
//! the name index keeps ambiguity an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use keygate_core::api::CircuitState;
use keygate_core::crypto::{
    Ciphertext, DataKey, DataKeySpec, EncryptionContext, MacTag, PublicKey, SecretBytes, SignInput,
    Signature,
};
use keygate_core::{
    Capabilities, CreateKeyRequest, DynProvider, ErrorKind, KeyMetadata, KeyProvider, KeySpec,
    KeyUpdate, KeyVersion, ListKeysRequest, Page, Policy, ProviderInfo, ProviderKind, Result,
    RotationSchedule, SigningAlgorithm,
};
use keygate_providers::local::LocalProvider;
use keygate_server::isolation::Isolation;
use keygate_server::{GatewayStore, Registry};

use crate::support::kl;

/// A "cloud" provider (kind `aws`) backed by a local one, which can be made to hang: every
/// call then waits forever, as on an endpoint that accepts connections and never answers.
#[derive(Debug)]
struct Cloud {
    inner: DynProvider,
    info: ProviderInfo,
    hung: AtomicBool,
}

impl Cloud {
    async fn new(name: &str) -> Arc<Self> {
        let inner: DynProvider = Arc::new(
            LocalProvider::builder()
                .with_name(name)
                .build()
                .await
                .unwrap(),
        );
        let info = ProviderInfo {
            kind: ProviderKind::Aws,
            ..inner.info().clone()
        };
        Arc::new(Self {
            inner,
            info,
            hung: AtomicBool::new(false),
        })
    }

    async fn wait(&self) {
        if self.hung.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

macro_rules! through {
    ($self:ident, $call:expr) => {{
        $self.wait().await;
        $call.await
    }};
}

#[async_trait]
impl KeyProvider for Cloud {
    fn info(&self) -> &ProviderInfo {
        &self.info
    }
    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }
    async fn list_keys(&self, req: ListKeysRequest) -> Result<Page<KeyMetadata>> {
        through!(self, self.inner.list_keys(req))
    }
    async fn describe_key(&self, id: &str) -> Result<KeyMetadata> {
        through!(self, self.inner.describe_key(id))
    }
    async fn create_key(&self, req: CreateKeyRequest) -> Result<KeyMetadata> {
        through!(self, self.inner.create_key(req))
    }
    async fn update_key(&self, id: &str, update: KeyUpdate) -> Result<KeyMetadata> {
        through!(self, self.inner.update_key(id, update))
    }
    async fn enable_key(&self, id: &str) -> Result<KeyMetadata> {
        through!(self, self.inner.enable_key(id))
    }
    async fn disable_key(&self, id: &str) -> Result<KeyMetadata> {
        through!(self, self.inner.disable_key(id))
    }
    async fn schedule_deletion(&self, id: &str, days: u32) -> Result<KeyMetadata> {
        through!(self, self.inner.schedule_deletion(id, days))
    }
    async fn cancel_deletion(&self, id: &str) -> Result<KeyMetadata> {
        through!(self, self.inner.cancel_deletion(id))
    }
    async fn list_versions(&self, id: &str) -> Result<Vec<KeyVersion>> {
        through!(self, self.inner.list_versions(id))
    }
    async fn rotate_key(&self, id: &str) -> Result<KeyVersion> {
        through!(self, self.inner.rotate_key(id))
    }
    async fn get_rotation(&self, id: &str) -> Result<Option<RotationSchedule>> {
        through!(self, self.inner.get_rotation(id))
    }
    async fn set_rotation(
        &self,
        id: &str,
        s: Option<RotationSchedule>,
    ) -> Result<Option<RotationSchedule>> {
        through!(self, self.inner.set_rotation(id, s))
    }
    async fn encrypt(&self, id: &str, pt: &[u8], cx: &EncryptionContext) -> Result<Ciphertext> {
        through!(self, self.inner.encrypt(id, pt, cx))
    }
    async fn decrypt(
        &self,
        id: Option<&str>,
        version: Option<&str>,
        ct: &[u8],
        cx: &EncryptionContext,
    ) -> Result<SecretBytes> {
        through!(self, self.inner.decrypt(id, version, ct, cx))
    }
    async fn generate_data_key(
        &self,
        id: &str,
        spec: DataKeySpec,
        cx: &EncryptionContext,
    ) -> Result<DataKey> {
        through!(self, self.inner.generate_data_key(id, spec, cx))
    }
    async fn sign(
        &self,
        id: &str,
        version: Option<&str>,
        input: SignInput<'_>,
        alg: SigningAlgorithm,
    ) -> Result<Signature> {
        through!(self, self.inner.sign(id, version, input, alg))
    }
    async fn verify(
        &self,
        id: &str,
        version: Option<&str>,
        input: SignInput<'_>,
        sig: &[u8],
        alg: SigningAlgorithm,
    ) -> Result<bool> {
        through!(self, self.inner.verify(id, version, input, sig, alg))
    }
    async fn generate_mac(&self, id: &str, version: Option<&str>, msg: &[u8]) -> Result<MacTag> {
        through!(self, self.inner.generate_mac(id, version, msg))
    }
    async fn verify_mac(
        &self,
        id: &str,
        version: Option<&str>,
        msg: &[u8],
        mac: &[u8],
    ) -> Result<bool> {
        through!(self, self.inner.verify_mac(id, version, msg, mac))
    }
    async fn get_public_key(&self, id: &str, version: Option<&str>) -> Result<PublicKey> {
        through!(self, self.inner.get_public_key(id, version))
    }
    async fn get_key_policy(&self, id: &str) -> Result<Policy> {
        through!(self, self.inner.get_key_policy(id))
    }
    async fn set_key_policy(&self, id: &str, policy: Policy) -> Result<Policy> {
        through!(self, self.inner.set_key_policy(id, policy))
    }
}

async fn local(name: &str) -> DynProvider {
    Arc::new(
        LocalProvider::builder()
            .with_name(name)
            .build()
            .await
            .unwrap(),
    )
}

const TIMEOUT_SECS: u64 = 1;

async fn registry(local: DynProvider, cloud: &Arc<Cloud>) -> Registry {
    let isolation = Isolation {
        call_timeout_secs: TIMEOUT_SECS,
        breaker_failures: 2,
        breaker_open_secs: 60,
    };
    let cloud: DynProvider = Arc::clone(cloud) as DynProvider;
    Registry::with_isolation(
        vec![(local, isolation), (cloud, isolation)],
        GatewayStore::in_memory().await.unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_local_name_never_waits_for_a_hung_cloud_and_the_breaker_skips_it() {
    let cloud = Cloud::new("cloud").await;
    let reg = registry(local("local").await, &cloud).await;
    reg.provider("local")
        .await
        .unwrap()
        .create_key(CreateKeyRequest::new("orders", KeySpec::Aes256))
        .await
        .unwrap();
    reg.provider("cloud")
        .await
        .unwrap()
        .create_key(CreateKeyRequest::new("billing", KeySpec::Aes256))
        .await
        .unwrap();
    cloud.hung.store(true, Ordering::SeqCst);

    let started = Instant::now();
    let key = reg.resolve(&kl("orders")).await.unwrap();
    assert_eq!(key.key_ref().provider, "local");
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );

    // A name only the cloud could hold: asked, bounded by the call timeout, named.
    let started = Instant::now();
    let err = reg.resolve(&kl("nowhere")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        err.to_string()
            .contains("provider `cloud` did not answer within 1 s"),
        "{err}"
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(TIMEOUT_SECS) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The cloud's own key (in the index since its creation): the second failure in a row
    // opens the breaker.
    let err = reg.resolve(&kl("billing")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let circuits = reg.circuits();
    assert_eq!(circuits[0].1.state, CircuitState::Closed);
    assert_eq!(circuits[1].1.state, CircuitState::Open, "{circuits:?}");
    assert_eq!(circuits[1].1.trips, 1);

    // Open: calls on the cloud fail at once; local keys are untouched.
    let started = Instant::now();
    let err = reg.resolve(&kl("billing")).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("provider `cloud` skipped: circuit open for"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    let listings = reg.list_keys(None).await.unwrap();
    assert_eq!(listings[0].keys.as_ref().unwrap().len(), 1);
    let skipped = listings[1].keys.as_ref().unwrap_err().to_string();
    assert!(skipped.contains("circuit open"), "{skipped}");
    assert_eq!(
        reg.resolve(&kl("orders")).await.unwrap().key_ref().provider,
        "local"
    );
}

#[tokio::test]
async fn the_index_keeps_ambiguity_an_error_and_learns_from_listings() {
    let cloud = Cloud::new("cloud").await;
    let raw_local = local("local").await;
    let reg = registry(Arc::clone(&raw_local), &cloud).await;
    // Created through keygate in both: the index knows both holders.
    for p in reg.providers().await.unwrap() {
        p.create_key(CreateKeyRequest::new("shared", KeySpec::Aes256))
            .await
            .unwrap();
    }
    let err = reg.resolve(&kl("shared")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("ambiguous"), "{err}");

    // Created outside keygate, in the cloud only: found by asking, then indexed.
    cloud
        .inner
        .create_key(CreateKeyRequest::new("outside", KeySpec::Aes256))
        .await
        .unwrap();
    assert!(reg.name_index().lookup("outside").is_empty());
    assert_eq!(
        reg.resolve(&kl("outside"))
            .await
            .unwrap()
            .key_ref()
            .provider,
        "cloud"
    );
    assert_eq!(reg.name_index().lookup("outside").len(), 1);

    // Outside keygate, in the local provider too: the refresh (a listing) learns it, and
    // the name is ambiguous again.
    raw_local
        .create_key(CreateKeyRequest::new("outside", KeySpec::Aes256))
        .await
        .unwrap();
    assert_eq!(reg.name_index().lookup("outside").len(), 1);
    reg.refresh_index().await;
    assert_eq!(reg.name_index().lookup("outside").len(), 2);
    let err = reg.resolve(&kl("outside")).await.unwrap_err();
    assert!(err.to_string().contains("ambiguous"), "{err}");
}

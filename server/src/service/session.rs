//! [`Session`]: the service bound to one caller; keygate's [`Gateway`] API in process.

use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use keygate_core::access::{AccessPolicy, Action, Identity, KeyAttrs};
use keygate_core::api::{
    Alias, Decrypted, Gateway, GatewayStatus, IssuedToken, KeyListing, ProviderFailure,
    ProviderSummary, Resolved, SealingKey, TokenInfo, TokenRequest,
};
use keygate_core::audit::{
    AuditCheckpoint, AuditEvent, AuditQuery, AuditVerification, ConsistencyProof, InclusionProof,
};
use keygate_core::envelope::EnvelopeHeader;
use keygate_core::{
    Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, EncryptionContext, Error, KeyLocator,
    KeyMetadata, KeyState, KeyUpdate, KeyVersion, MacTag, Page, Policy, PublicKey, Result,
    RotationSchedule, SecretBytes, SignInput, Signature, SigningAlgorithm,
};

use super::keypolicy::CallFacts;
use super::versions::VersionChange;
use super::{Service, Source};
use crate::registry::ResolvedKey;
use crate::store::{ObjectWrite, new_alias};

/// The most random bytes one call returns (AWS KMS's own bound).
pub const MAX_RANDOM_BYTES: usize = 1024;

/// The service bound to one caller: every call is authorized for this identity and audited
/// with its principal, source and request id.
#[derive(Debug, Clone)]
pub struct Session {
    pub(super) service: Arc<Service>,
    pub(super) identity: Identity,
    pub(super) source: Source,
    pub(super) request_id: Option<String>,
    /// A door's own rule on the keys its calls resolve to (see [`Session::with_key_rule`]).
    pub(super) rule: Option<super::KeyRule>,
}

impl Session {
    pub(super) fn new(service: Arc<Service>, identity: Identity, source: Source) -> Self {
        Self {
            service,
            identity,
            source,
            request_id: None,
            rule: None,
        }
    }

    /// Uses this request id in every audit row (default: a fresh UUID per call).
    #[must_use]
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// Who is calling.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The service behind the session.
    pub fn service(&self) -> &Arc<Service> {
        &self.service
    }

    /// Whether the gateway access policy lets this caller do `action` on the key described by
    /// `key` (without a key: whether some key could allow it). A pure check, with no audit row
    /// and no provider call: for answers that report permissions (the GCP dialect's
    /// `testIamPermissions`), made after an audited read of the key.
    pub fn allows(&self, action: Action, key: Option<&KeyAttrs<'_>>) -> bool {
        let policy = self.policy();
        match key {
            Some(attrs) => policy.evaluate(&self.identity, action, Some(attrs)).allowed,
            None => policy.may_ever(&self.identity, action),
        }
    }
}

impl Session {
    /// [`Gateway::list_versions`], with the key's state as the call read it to authorize the
    /// caller: for a dialect that shows every version with its key's state (Cloud KMS shows a
    /// disabled key's versions DISABLED), in one call, authorized and audited once as
    /// `keys:describe`.
    ///
    /// # Errors
    /// As [`Gateway::list_versions`].
    pub async fn list_versions_and_state(
        &self,
        key: &KeyLocator,
    ) -> Result<Resolved<(Vec<KeyVersion>, KeyState)>> {
        self.key_op(Action::KeysDescribe, key, |k, m| async move {
            let versions = k.provider.list_versions(&k.id).await?;
            Ok((k.answer((versions, m.state)), None))
        })
        .await
    }
}

/// `asked`, or the key's default signing algorithm: the first of its spec's algorithms that
/// its provider accepts.
fn signing_algorithm(
    k: &ResolvedKey,
    m: &KeyMetadata,
    asked: Option<SigningAlgorithm>,
) -> Result<SigningAlgorithm> {
    if let Some(a) = asked {
        return Ok(a);
    }
    k.provider
        .capabilities()
        .signing_algorithms(m.spec)
        .first()
        .copied()
        .ok_or_else(|| Error::state(format!("{} is a {} key and cannot sign", m.uri, m.spec)))
}

fn primary(m: KeyMetadata) -> (KeyMetadata, Option<String>) {
    let v = m.primary_version.clone();
    (m, v)
}

#[async_trait]
impl Gateway for Session {
    async fn whoami(&self) -> Result<Identity> {
        Ok(self.identity.clone())
    }

    async fn providers(&self) -> Result<Vec<ProviderSummary>> {
        Ok(self
            .service
            .registry
            .providers()
            .await?
            .iter()
            .map(|p| ProviderSummary {
                name: p.info().name.clone(),
                kind: p.info().kind,
                uri_prefix: p.info().uri_prefix.clone(),
                capabilities: p.capabilities().clone(),
            })
            .collect())
    }

    async fn status(&self) -> Result<GatewayStatus> {
        self.read_status().await
    }

    async fn list_keys(&self, provider: Option<&str>) -> Result<KeyListing> {
        let action = Action::KeysList;
        let mut audit = self.audit(action);
        audit.provider = provider.map(str::to_owned);
        let result = async {
            let policy = self.policy();
            if !policy.may_ever(&self.identity, action) {
                let reason = policy.evaluate(&self.identity, action, None).reason;
                return Err(audit.deny(reason));
            }
            let mut listing = KeyListing::default();
            for l in self.service.registry.list_keys(provider).await? {
                match l.keys {
                    Ok(keys) => listing.keys.extend(keys.into_iter().filter(|k| {
                        policy
                            .evaluate(&self.identity, action, Some(&KeyAttrs::from_metadata(k)))
                            .allowed
                    })),
                    Err(e) => listing.errors.push(ProviderFailure {
                        provider: l.provider,
                        kind: e.kind().as_str().to_owned(),
                        message: e.to_string(),
                    }),
                }
            }
            Ok(listing)
        }
        .await;
        audit.done(result).await
    }

    async fn describe_key(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.key_op(
            Action::KeysDescribe,
            key,
            |_, m| async move { Ok(primary(m)) },
        )
        .await
    }

    async fn create_key(
        &self,
        provider: Option<&str>,
        req: CreateKeyRequest,
    ) -> Result<KeyMetadata> {
        let action = Action::KeysCreate;
        let mut audit = self.audit(action);
        let result = async {
            let registry = &self.service.registry;
            let p = match provider {
                Some(name) => registry.provider(name).await?,
                None => match registry.names().first() {
                    Some(first) => registry.provider(first).await?,
                    None => return Err(Error::state("no provider is registered")),
                },
            };
            audit.provider = Some(p.info().name.clone());
            let attrs = KeyAttrs {
                provider: &p.info().name,
                name: &req.name,
                labels: &req.labels,
            };
            self.authorize(&mut audit, action, Some(&attrs))?;
            if req.origin == keygate_core::KeyOrigin::External && !p.capabilities().import_material
            {
                return Err(Error::unsupported(format!(
                    "provider `{}` does not take imported key material",
                    p.info().name
                )));
            }
            audit.begin().await?;
            let meta = p.create_key(req).await?;
            audit.key = Some(meta.uri.clone());
            audit.key_version = meta.primary_version.clone();
            Ok(meta)
        }
        .await;
        audit.done(result).await
    }

    async fn update_key(&self, key: &KeyLocator, update: KeyUpdate) -> Result<KeyMetadata> {
        self.key_op(Action::KeysUpdate, key, |k, _| async move {
            Ok(primary(k.provider.update_key(&k.id, update).await?))
        })
        .await
    }

    async fn enable_key(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.key_op(Action::KeysEnable, key, |k, _| async move {
            Ok(primary(k.provider.enable_key(&k.id).await?))
        })
        .await
    }

    async fn disable_key(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.key_op(Action::KeysDisable, key, |k, _| async move {
            Ok(primary(k.provider.disable_key(&k.id).await?))
        })
        .await
    }

    async fn schedule_deletion(&self, key: &KeyLocator, pending_days: u32) -> Result<KeyMetadata> {
        self.key_op(Action::KeysDelete, key, |k, _| async move {
            Ok(primary(
                k.provider.schedule_deletion(&k.id, pending_days).await?,
            ))
        })
        .await
    }

    async fn cancel_deletion(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.key_op(Action::KeysUndelete, key, |k, _| async move {
            Ok(primary(k.provider.cancel_deletion(&k.id).await?))
        })
        .await
    }

    async fn list_versions(&self, key: &KeyLocator) -> Result<Resolved<Vec<KeyVersion>>> {
        self.key_op(Action::KeysDescribe, key, |k, _| async move {
            Ok((k.answer(k.provider.list_versions(&k.id).await?), None))
        })
        .await
    }

    async fn rotate_key(&self, key: &KeyLocator) -> Result<Resolved<KeyVersion>> {
        self.key_op(Action::KeysRotate, key, |k, _| async move {
            let v = k.provider.rotate_key(&k.id).await?;
            let id = v.id.clone();
            Ok((k.answer(v), Some(id)))
        })
        .await
    }

    async fn enable_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.change_version(key, version, VersionChange::Enable)
            .await
    }

    async fn disable_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.change_version(key, version, VersionChange::Disable)
            .await
    }

    async fn destroy_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.change_version(key, version, VersionChange::Destroy)
            .await
    }

    async fn restore_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.change_version(key, version, VersionChange::Restore)
            .await
    }

    async fn set_primary_version(&self, key: &KeyLocator, version: &str) -> Result<KeyMetadata> {
        self.make_primary(key, version).await
    }

    async fn get_rotation(&self, key: &KeyLocator) -> Result<Resolved<Option<RotationSchedule>>> {
        self.key_op(Action::KeysDescribe, key, |k, _| async move {
            Ok((k.answer(k.provider.get_rotation(&k.id).await?), None))
        })
        .await
    }

    async fn set_rotation(
        &self,
        key: &KeyLocator,
        schedule: Option<RotationSchedule>,
    ) -> Result<KeyMetadata> {
        let facts = CallFacts::action("kms:EnableKeyRotation");
        self.key_op_facts(
            Action::KeysRotate,
            key,
            None,
            facts,
            |k, mut m| async move {
                m.rotation = k.provider.set_rotation(&k.id, schedule).await?;
                Ok((m, None))
            },
        )
        .await
    }

    async fn get_public_key(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
    ) -> Result<Resolved<PublicKey>> {
        self.key_op_at(Action::KeysPublicKey, key, version, |k, _| async move {
            let pk = k.provider.get_public_key(&k.id, version).await?;
            let v = pk.key_version.clone();
            Ok((k.answer(pk), Some(v)))
        })
        .await
    }

    async fn get_key_policy(&self, key: &KeyLocator) -> Result<Resolved<Policy>> {
        self.key_op(Action::KeysPolicyGet, key, |k, _| async move {
            Ok((k.answer(k.provider.get_key_policy(&k.id).await?), None))
        })
        .await
    }

    async fn set_key_policy(&self, key: &KeyLocator, policy: Policy) -> Result<Resolved<Policy>> {
        self.key_op(Action::KeysPolicySet, key, |k, _| async move {
            Ok((
                k.answer(k.provider.set_key_policy(&k.id, policy).await?),
                None,
            ))
        })
        .await
    }

    async fn encrypt(
        &self,
        key: &KeyLocator,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        self.seal_envelope(std::slice::from_ref(key), plaintext, context)
            .await
    }

    async fn encrypt_for_keys(
        &self,
        keys: &[KeyLocator],
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        self.seal_envelope(keys, plaintext, context).await
    }

    async fn begin_envelope_for_keys(
        &self,
        keys: &[KeyLocator],
        context: &EncryptionContext,
    ) -> Result<SealingKey> {
        self.begin_stream(keys, context).await
    }

    async fn rewrap_envelope(
        &self,
        header: &EnvelopeHeader,
        add: &[KeyLocator],
        remove: &[KeyLocator],
        context: &EncryptionContext,
    ) -> Result<EnvelopeHeader> {
        self.rewrap(header, add, remove, context).await
    }

    async fn decrypt(&self, envelope: &[u8], context: &EncryptionContext) -> Result<Decrypted> {
        self.open_whole_envelope(envelope, context).await
    }

    async fn decrypt_native(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted> {
        let facts = CallFacts::context(context);
        self.key_op_facts(
            Action::CryptoDecrypt,
            key,
            version,
            facts,
            |k, m| async move {
                let plaintext = k
                    .provider
                    .decrypt(Some(&k.id), version, ciphertext, context)
                    .await?;
                let decrypted = Decrypted {
                    plaintext,
                    key_uri: m.uri,
                    key_version: version.map(str::to_owned),
                    context: context.clone(),
                };
                Ok((decrypted, None))
            },
        )
        .await
    }

    async fn aws_key_arn(&self, key: &KeyLocator) -> Result<Resolved<String>> {
        let service = Arc::clone(&self.service);
        self.key_op(Action::KeysDescribe, key, |k, m| async move {
            let arn = service.aws_key_arn(&m.uri).await?;
            Ok((k.answer(arn), None))
        })
        .await
    }

    async fn encrypt_native(
        &self,
        key: &KeyLocator,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Resolved<Ciphertext>> {
        let facts = CallFacts::context(context);
        self.key_op_facts(Action::CryptoEncrypt, key, None, facts, |k, _| async move {
            let ct = k.provider.encrypt(&k.id, plaintext, context).await?;
            let v = ct.key_version.clone();
            Ok((k.answer(ct), Some(v)))
        })
        .await
    }

    async fn import_parameters(
        &self,
        key: &KeyLocator,
        algorithm: keygate_core::WrappingAlgorithm,
        wrapping_key: keygate_core::WrappingKeySpec,
    ) -> Result<Resolved<keygate_core::ImportParameters>> {
        self.import_parameters_op(key, algorithm, wrapping_key)
            .await
    }

    async fn import_key_material(
        &self,
        key: &KeyLocator,
        material: keygate_core::ImportedMaterial,
    ) -> Result<KeyMetadata> {
        self.import_key_material_op(key, material).await
    }

    async fn delete_imported_material(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.delete_imported_material_op(key).await
    }

    async fn generate_random(&self, bytes: usize) -> Result<SecretBytes> {
        self.plain_op(Action::RandomGenerate, || async move {
            if !(1..=MAX_RANDOM_BYTES).contains(&bytes) {
                return Err(Error::invalid(format!(
                    "the number of random bytes must be between 1 and {MAX_RANDOM_BYTES}"
                )));
            }
            let mut out = SecretBytes::new(vec![0u8; bytes]);
            aws_lc_rs::rand::fill(out.as_mut_slice())
                .map_err(|_| Error::unavailable("the random generator failed"))?;
            Ok(out)
        })
        .await
    }

    async fn generate_data_key(
        &self,
        key: &KeyLocator,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<Resolved<DataKey>> {
        let facts = CallFacts::context(context);
        self.key_op_facts(
            Action::CryptoGenerateDataKey,
            key,
            None,
            facts,
            |k, _| async move {
                let dk = k.provider.generate_data_key(&k.id, spec, context).await?;
                let v = dk.key_version.clone();
                Ok((k.answer(dk), Some(v)))
            },
        )
        .await
    }

    async fn begin_envelope(
        &self,
        key: &KeyLocator,
        context: &EncryptionContext,
    ) -> Result<SealingKey> {
        self.begin_stream(std::slice::from_ref(key), context).await
    }

    async fn open_envelope(
        &self,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        self.open_stream(header, context).await
    }

    async fn sign(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        input: SignInput<'_>,
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<Signature>> {
        self.key_op_at(Action::CryptoSign, key, version, |k, m| async move {
            let algorithm = signing_algorithm(&k, &m, algorithm)?;
            let s = k.provider.sign(&k.id, version, input, algorithm).await?;
            let v = s.key_version.clone();
            Ok((k.answer(s), Some(v)))
        })
        .await
    }

    async fn verify(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<bool>> {
        self.key_op_at(Action::CryptoVerify, key, version, |k, m| async move {
            let algorithm = signing_algorithm(&k, &m, algorithm)?;
            let valid = k
                .provider
                .verify(&k.id, version, input, signature, algorithm)
                .await?;
            Ok((k.answer(valid), version.map(str::to_owned)))
        })
        .await
    }

    async fn generate_mac(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        message: &[u8],
    ) -> Result<Resolved<MacTag>> {
        self.key_op_at(Action::CryptoMac, key, version, |k, _| async move {
            let tag = k.provider.generate_mac(&k.id, version, message).await?;
            let v = tag.key_version.clone();
            Ok((k.answer(tag), Some(v)))
        })
        .await
    }

    async fn verify_mac(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<Resolved<bool>> {
        let facts = CallFacts::action("kms:VerifyMac");
        self.key_op_facts(Action::CryptoMac, key, version, facts, |k, _| async move {
            let valid = k.provider.verify_mac(&k.id, version, message, mac).await?;
            Ok((k.answer(valid), None))
        })
        .await
    }

    async fn list_aliases(&self) -> Result<Vec<Alias>> {
        self.plain_op(Action::AliasesList, || async {
            self.service.registry.store().list_aliases().await
        })
        .await
    }

    async fn create_alias(&self, name: &str, key: &KeyLocator) -> Result<Alias> {
        self.alias_op(key, |target| {
            Ok(ObjectWrite::InsertAlias(new_alias(name, &target)?))
        })
        .await
    }

    async fn update_alias(&self, name: &str, key: &KeyLocator) -> Result<Alias> {
        self.alias_op(key, |target| {
            Ok(ObjectWrite::UpdateAlias {
                name: name.to_owned(),
                target,
            })
        })
        .await
    }

    async fn delete_alias(&self, name: &str) -> Result<()> {
        let deleted = self
            .object_op(Action::AliasesWrite, || {
                Ok(ObjectWrite::DeleteAlias {
                    name: name.to_owned(),
                })
            })
            .await;
        self.service.keys.clear();
        deleted.map(drop)
    }

    async fn cost(&self, since: time::OffsetDateTime) -> Result<keygate_core::cost::CostReport> {
        self.plain_op(Action::AuditRead, || self.cost_report(since))
            .await
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        self.plain_op(Action::AuditRead, || async {
            self.service.audit.query(query).await
        })
        .await
    }

    async fn follow_audit(
        &self,
        query: &AuditQuery,
    ) -> Result<BoxStream<'static, Result<AuditEvent>>> {
        self.plain_op(Action::AuditRead, || async {
            Ok(self.service.audit.follow(query.clone()))
        })
        .await
    }

    async fn verify_audit(&self) -> Result<AuditVerification> {
        self.plain_op(Action::AuditRead, || async {
            self.service.audit.verify().await
        })
        .await
    }

    async fn verify_audit_from_checkpoint(&self) -> Result<AuditVerification> {
        self.plain_op(Action::AuditRead, || async {
            self.service.audit.verify_from_checkpoint().await
        })
        .await
    }

    async fn audit_checkpoint(&self) -> Result<AuditCheckpoint> {
        self.plain_op(Action::AuditRead, || async {
            self.service.audit.checkpoint().await
        })
        .await
    }

    async fn audit_public_key(&self) -> Result<String> {
        self.plain_op(Action::AuditRead, || async {
            Ok(self.service.audit.public_key()?.to_string())
        })
        .await
    }

    async fn audit_inclusion_proof(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof> {
        self.plain_op(Action::AuditRead, || async {
            self.service.audit.inclusion_proof(seq, size).await
        })
        .await
    }

    async fn audit_consistency_proof(
        &self,
        old_size: u64,
        size: Option<u64>,
    ) -> Result<ConsistencyProof> {
        self.plain_op(Action::AuditRead, || async {
            self.service.audit.consistency_proof(old_size, size).await
        })
        .await
    }

    async fn create_token(&self, req: TokenRequest) -> Result<IssuedToken> {
        self.kind(Action::TokensCreate)
            .scope(async {
                let mut audit = self.audit(Action::TokensCreate);
                let result = async {
                    self.authorize(&mut audit, Action::TokensCreate, None)?;
                    audit.begin().await?;
                    let policy = self.policy();
                    self.service.tokens.create(&req, &policy, &mut audit).await
                }
                .await;
                audit.done(result).await
            })
            .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.plain_op(Action::TokensList, || async {
            self.service.tokens.list().await
        })
        .await
    }

    async fn revoke_token(&self, id: &str) -> Result<TokenInfo> {
        self.kind(Action::TokensRevoke)
            .scope(async {
                let mut audit = self.audit(Action::TokensRevoke);
                let result = async {
                    self.authorize(&mut audit, Action::TokensRevoke, None)?;
                    audit.begin().await?;
                    self.service.tokens.revoke(id, &mut audit).await
                }
                .await;
                audit.done(result).await
            })
            .await
    }

    async fn get_access_policy(&self) -> Result<AccessPolicy> {
        self.plain_op(Action::PolicyGet, || async {
            Ok(self.policy().as_ref().clone())
        })
        .await
    }

    async fn set_access_policy(&self, policy: AccessPolicy) -> Result<AccessPolicy> {
        self.kind(Action::PolicySet)
            .scope(async {
                let mut audit = self.audit(Action::PolicySet);
                let result = async {
                    self.authorize(&mut audit, Action::PolicySet, None)?;
                    audit.begin().await?;
                    self.service
                        .access
                        .set(policy, &self.identity.principal, &mut audit)
                        .await
                }
                .await;
                audit.done(result).await
            })
            .await
    }
}

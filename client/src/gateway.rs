//! [`Gateway`] over the REST API: each method is one request with the shared bodies of
//! [`keygate_core::wire`].

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt as _};
use keygate_core::access::{AccessPolicy, Identity};
use keygate_core::api::{
    Alias, Decrypted, Gateway, GatewayStatus, IssuedToken, KeyListing, ProviderSummary, Resolved,
    SealingKey, TokenInfo, TokenRequest,
};
use keygate_core::audit::{
    AuditCheckpoint, AuditEvent, AuditQuery, AuditVerification, ConsistencyProof, InclusionProof,
};
use keygate_core::envelope::EnvelopeHeader;
use keygate_core::{
    Ciphertext, CreateKeyRequest, DataKey, DataKeySpec, EncryptionContext, Error, KeyLocator,
    KeyMetadata, KeyUpdate, KeyVersion, MacTag, Page, Policy, PublicKey, Result, RotationSchedule,
    SecretBytes, SignInput, Signature, SigningAlgorithm,
};
use reqwest::Method;
use zeroize::Zeroizing;

use crate::sse::follow_stream;
use crate::{HttpGateway, audit_query_string, encode_component};
use keygate_core::wire::{
    AuditPage, AwsArnBody, BeginEnvelopeBody, CreateAliasBody, CreateKeyBody, DataKeyBody,
    DataKeyOnly, DataKeyResponse, DecryptBody, DecryptedBody, DeleteBody, EncryptBody,
    EncryptedBody, ImportMaterialBody, ImportParametersBody, ImportParametersRequestBody,
    IssuedTokenBody, MacBody, MacResponse, MacVerifyBody, MessageType, NativeEncryptedBody,
    OpenEnvelopeBody, PublicKeyBody, RandomBody, RandomResponse, RewrapBody, RewrapResponse,
    RotationBody, SealingKeyBody, SetRotationBody, SignBody, SignatureBody, UpdateAliasBody, Valid,
    VerifyBody, b64, b64_secret, unb64, unb64_secret,
};

fn decode_reply(field: &str, value: &str) -> Result<Vec<u8>> {
    unb64(field, value)
        .map_err(|_| Error::unavailable(format!("the gateway sent `{field}` that is not base64")))
}

fn decode_secret_reply(field: &str, value: &str) -> Result<SecretBytes> {
    unb64_secret(field, value)
        .map_err(|_| Error::unavailable(format!("the gateway sent `{field}` that is not base64")))
}

#[async_trait]
impl Gateway for HttpGateway {
    async fn whoami(&self) -> Result<Identity> {
        self.get("/v1/whoami").await
    }

    async fn providers(&self) -> Result<Vec<ProviderSummary>> {
        self.get("/v1/providers").await
    }

    async fn status(&self) -> Result<GatewayStatus> {
        self.get("/v1/status").await
    }

    async fn list_keys(&self, provider: Option<&str>) -> Result<KeyListing> {
        match provider {
            Some(p) => {
                self.get(&format!("/v1/keys?provider={}", encode_component(p)))
                    .await
            }
            None => self.get("/v1/keys").await,
        }
    }

    async fn describe_key(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.get(&Self::key_path(key, "")).await
    }

    async fn create_key(
        &self,
        provider: Option<&str>,
        req: CreateKeyRequest,
    ) -> Result<KeyMetadata> {
        let body = CreateKeyBody {
            provider: provider.map(str::to_owned),
            name: req.name,
            spec: req.spec,
            usage: req.usage,
            description: Some(req.description),
            labels: Some(req.labels),
            rotation_period_days: req.rotation.map(|r| r.period_days),
            origin: (req.origin != keygate_core::KeyOrigin::Generated).then_some(req.origin),
        };
        self.post("/v1/keys", &body).await
    }

    async fn update_key(&self, key: &KeyLocator, update: KeyUpdate) -> Result<KeyMetadata> {
        let req = self
            .request(Method::PATCH, &Self::key_path(key, ""))
            .json(&update);
        self.call(req).await
    }

    async fn enable_key(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/enable")))
            .await
    }

    async fn disable_key(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/disable")))
            .await
    }

    async fn schedule_deletion(&self, key: &KeyLocator, pending_days: u32) -> Result<KeyMetadata> {
        self.post(
            &Self::key_path(key, "/delete"),
            &DeleteBody { pending_days },
        )
        .await
    }

    async fn cancel_deletion(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/undelete")))
            .await
    }

    async fn import_parameters(
        &self,
        key: &KeyLocator,
        algorithm: keygate_core::WrappingAlgorithm,
        wrapping_key: keygate_core::WrappingKeySpec,
    ) -> Result<Resolved<keygate_core::ImportParameters>> {
        let body = ImportParametersRequestBody {
            wrapping_algorithm: algorithm,
            wrapping_key_spec: wrapping_key,
        };
        let req = self
            .request(Method::POST, &Self::key_path(key, "/import-parameters"))
            .json(&body);
        let reply: Resolved<ImportParametersBody> = self.call_keyed(req).await?;
        let public_key = decode_reply("public_key", &reply.value.public_key)?;
        let import_token = decode_reply("import_token", &reply.value.import_token)?;
        let key_id = reply.key.id.clone();
        Ok(reply.map(|b| keygate_core::ImportParameters {
            key_id,
            public_key,
            import_token,
            algorithm: b.algorithm,
            valid_to: b.valid_to,
        }))
    }

    async fn import_key_material(
        &self,
        key: &KeyLocator,
        material: keygate_core::ImportedMaterial,
    ) -> Result<KeyMetadata> {
        let body = ImportMaterialBody {
            import_token: b64(&material.import_token),
            encrypted_material: b64(&material.encrypted_material),
            valid_to: material.valid_to,
        };
        self.post(&Self::key_path(key, "/import"), &body).await
    }

    async fn delete_imported_material(&self, key: &KeyLocator) -> Result<KeyMetadata> {
        self.call(self.request(Method::POST, &Self::key_path(key, "/delete-material")))
            .await
    }

    async fn list_versions(&self, key: &KeyLocator) -> Result<Resolved<Vec<KeyVersion>>> {
        self.call_keyed(self.request(Method::GET, &Self::key_path(key, "/versions")))
            .await
    }

    async fn rotate_key(&self, key: &KeyLocator) -> Result<Resolved<KeyVersion>> {
        self.call_keyed(self.request(Method::POST, &Self::key_path(key, "/rotate")))
            .await
    }

    async fn enable_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.version_call(key, version, "enable").await
    }

    async fn disable_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.version_call(key, version, "disable").await
    }

    async fn destroy_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.version_call(key, version, "destroy").await
    }

    async fn restore_version(
        &self,
        key: &KeyLocator,
        version: &str,
    ) -> Result<Resolved<KeyVersion>> {
        self.version_call(key, version, "restore").await
    }

    async fn set_primary_version(&self, key: &KeyLocator, version: &str) -> Result<KeyMetadata> {
        let path = Self::version_path(key, version, "/primary");
        self.call(self.request(Method::POST, &path)).await
    }

    async fn get_rotation(&self, key: &KeyLocator) -> Result<Resolved<Option<RotationSchedule>>> {
        let req = self.request(Method::GET, &Self::key_path(key, "/rotation"));
        let body: Resolved<RotationBody> = self.call_keyed(req).await?;
        Ok(body.map(|b| b.schedule))
    }

    async fn set_rotation(
        &self,
        key: &KeyLocator,
        schedule: Option<RotationSchedule>,
    ) -> Result<KeyMetadata> {
        let body = SetRotationBody {
            period_days: schedule.map(|s| s.period_days),
        };
        let body: RotationBody = self.put(&Self::key_path(key, "/rotation"), &body).await?;
        body.key.ok_or_else(|| {
            Error::unavailable(format!(
                "the keygate gateway at {} did not answer with the key",
                self.base
            ))
        })
    }

    async fn get_public_key(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
    ) -> Result<Resolved<PublicKey>> {
        let query = version
            .map(|v| format!("?version={}", encode_component(v)))
            .unwrap_or_default();
        let req = self.request(
            Method::GET,
            &Self::key_path(key, &format!("/public-key{query}")),
        );
        let body: Resolved<PublicKeyBody> = self.call_keyed(req).await?;
        let der = decode_reply("der", &body.value.der)?;
        Ok(body.map(|b| PublicKey {
            der,
            key_version: b.key_version,
            spec: b.spec,
        }))
    }

    async fn aws_key_arn(&self, key: &KeyLocator) -> Result<Resolved<String>> {
        let req = self.request(Method::GET, &Self::key_path(key, "/aws-arn"));
        let body: Resolved<AwsArnBody> = self.call_keyed(req).await?;
        Ok(body.map(|b| b.arn))
    }

    async fn get_key_policy(&self, key: &KeyLocator) -> Result<Resolved<Policy>> {
        self.call_keyed(self.request(Method::GET, &Self::key_path(key, "/policy")))
            .await
    }

    async fn set_key_policy(&self, key: &KeyLocator, policy: Policy) -> Result<Resolved<Policy>> {
        let req = self
            .request(Method::PUT, &Self::key_path(key, "/policy"))
            .json(&policy);
        self.call_keyed(req).await
    }

    async fn encrypt(
        &self,
        key: &KeyLocator,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        self.encrypt_for_keys(std::slice::from_ref(key), plaintext, context)
            .await
    }

    async fn encrypt_for_keys(
        &self,
        keys: &[KeyLocator],
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Vec<u8>> {
        let (key, keys) = split_keys(keys)?;
        let body = EncryptBody {
            key,
            keys,
            plaintext: b64_secret(plaintext),
            context: context.clone(),
        };
        let reply: EncryptedBody = self.post("/v1/encrypt", &body).await?;
        decode_reply("ciphertext", &reply.ciphertext)
    }

    async fn begin_envelope_for_keys(
        &self,
        keys: &[KeyLocator],
        context: &EncryptionContext,
    ) -> Result<SealingKey> {
        let (key, keys) = split_keys(keys)?;
        self.begin_body(BeginEnvelopeBody {
            key,
            keys,
            context: context.clone(),
        })
        .await
    }

    async fn rewrap_envelope(
        &self,
        header: &EnvelopeHeader,
        add: &[KeyLocator],
        remove: &[KeyLocator],
        context: &EncryptionContext,
    ) -> Result<EnvelopeHeader> {
        let body = RewrapBody {
            header: b64(&header.encode()?),
            add: add.iter().map(ToString::to_string).collect(),
            remove: remove.iter().map(ToString::to_string).collect(),
            context: context.clone(),
        };
        let reply: RewrapResponse = self.post("/v1/envelope/rewrap", &body).await?;
        let bytes = decode_reply("header", &reply.header)?;
        let (header, len) = EnvelopeHeader::decode(&bytes)?;
        if len != bytes.len() {
            return Err(Error::invalid(
                "the gateway answered a header with trailing bytes",
            ));
        }
        Ok(header)
    }

    async fn decrypt(&self, envelope: &[u8], context: &EncryptionContext) -> Result<Decrypted> {
        self.decrypt_body(DecryptBody {
            ciphertext: b64(envelope),
            context: context.clone(),
            key: None,
            key_version: None,
        })
        .await
    }

    async fn decrypt_native(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        ciphertext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Decrypted> {
        self.decrypt_body(DecryptBody {
            ciphertext: b64(ciphertext),
            context: context.clone(),
            key: Some(key.to_string()),
            key_version: version.map(str::to_owned),
        })
        .await
    }

    async fn encrypt_native(
        &self,
        key: &KeyLocator,
        plaintext: &[u8],
        context: &EncryptionContext,
    ) -> Result<Resolved<Ciphertext>> {
        let body = EncryptBody {
            key: key.to_string(),
            keys: Vec::new(),
            plaintext: Zeroizing::new(b64(plaintext)),
            context: context.clone(),
        };
        let req = self.request(Method::POST, "/v1/encrypt-native").json(&body);
        let reply: Resolved<NativeEncryptedBody> = self.call_keyed(req).await?;
        let bytes = decode_reply("ciphertext", &reply.value.ciphertext)?;
        Ok(reply.map(|r| Ciphertext {
            bytes,
            key_version: r.key_version,
            algorithm: r.algorithm,
        }))
    }

    async fn generate_random(&self, bytes: usize) -> Result<SecretBytes> {
        let reply: RandomResponse = self.post("/v1/random", &RandomBody { bytes }).await?;
        decode_secret_reply("random", &reply.random)
    }

    async fn generate_data_key(
        &self,
        key: &KeyLocator,
        spec: DataKeySpec,
        context: &EncryptionContext,
    ) -> Result<Resolved<DataKey>> {
        // A size of its own travels as `bytes`, the named sizes as `spec`.
        let (spec, bytes) = match spec {
            DataKeySpec::Bytes(n) => (None, Some(usize::from(n))),
            named => (Some(named), None),
        };
        let body = DataKeyBody {
            key: key.to_string(),
            spec,
            bytes,
            context: context.clone(),
        };
        let req = self
            .request(Method::POST, "/v1/generate-data-key")
            .json(&body);
        let reply: Resolved<DataKeyResponse> = self.call_keyed(req).await?;
        let plaintext = decode_secret_reply("plaintext", &reply.value.plaintext)?;
        let ciphertext = decode_reply("ciphertext", &reply.value.ciphertext)?;
        Ok(reply.map(|r| DataKey {
            plaintext,
            ciphertext,
            key_version: r.key_version,
        }))
    }

    async fn begin_envelope(
        &self,
        key: &KeyLocator,
        context: &EncryptionContext,
    ) -> Result<SealingKey> {
        self.begin_body(BeginEnvelopeBody {
            key: key.to_string(),
            keys: Vec::new(),
            context: context.clone(),
        })
        .await
    }

    async fn open_envelope(
        &self,
        header: &EnvelopeHeader,
        context: &EncryptionContext,
    ) -> Result<SecretBytes> {
        let body = OpenEnvelopeBody {
            header: b64(&header.encode()?),
            context: context.clone(),
        };
        let reply: DataKeyOnly = self.post("/v1/envelope/open", &body).await?;
        decode_secret_reply("data_key", &reply.data_key)
    }

    async fn sign(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        input: SignInput<'_>,
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<Signature>> {
        let body = SignBody {
            key: key.to_string(),
            message: b64(input.bytes()),
            algorithm,
            key_version: version.map(str::to_owned),
            message_type: MessageType::of(input),
        };
        let req = self.request(Method::POST, "/v1/sign").json(&body);
        let reply: Resolved<SignatureBody> = self.call_keyed(req).await?;
        let bytes = decode_reply("signature", &reply.value.signature)?;
        Ok(reply.map(|r| Signature {
            bytes,
            key_version: r.key_version,
            algorithm: r.algorithm,
        }))
    }

    async fn verify(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        input: SignInput<'_>,
        signature: &[u8],
        algorithm: Option<SigningAlgorithm>,
    ) -> Result<Resolved<bool>> {
        let body = VerifyBody {
            key: key.to_string(),
            message: b64(input.bytes()),
            signature: b64(signature),
            algorithm,
            key_version: version.map(str::to_owned),
            message_type: MessageType::of(input),
        };
        let req = self.request(Method::POST, "/v1/verify").json(&body);
        let reply: Resolved<Valid> = self.call_keyed(req).await?;
        Ok(reply.map(|r| r.valid))
    }

    async fn generate_mac(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        message: &[u8],
    ) -> Result<Resolved<MacTag>> {
        let body = MacBody {
            key: key.to_string(),
            message: b64(message),
            key_version: version.map(str::to_owned),
        };
        let req = self.request(Method::POST, "/v1/mac").json(&body);
        let reply: Resolved<MacResponse> = self.call_keyed(req).await?;
        let bytes = decode_reply("mac", &reply.value.mac)?;
        Ok(reply.map(|r| MacTag {
            bytes,
            key_version: r.key_version,
            algorithm: r.algorithm,
        }))
    }

    async fn verify_mac(
        &self,
        key: &KeyLocator,
        version: Option<&str>,
        message: &[u8],
        mac: &[u8],
    ) -> Result<Resolved<bool>> {
        let body = MacVerifyBody {
            key: key.to_string(),
            message: b64(message),
            mac: b64(mac),
            key_version: version.map(str::to_owned),
        };
        let req = self.request(Method::POST, "/v1/mac/verify").json(&body);
        let reply: Resolved<Valid> = self.call_keyed(req).await?;
        Ok(reply.map(|r| r.valid))
    }

    async fn list_aliases(&self) -> Result<Vec<Alias>> {
        self.get("/v1/aliases").await
    }

    async fn create_alias(&self, name: &str, key: &KeyLocator) -> Result<Alias> {
        let body = CreateAliasBody {
            name: name.to_owned(),
            key: key.to_string(),
        };
        self.post("/v1/aliases", &body).await
    }

    async fn update_alias(&self, name: &str, key: &KeyLocator) -> Result<Alias> {
        let body = UpdateAliasBody {
            key: key.to_string(),
        };
        self.put(&format!("/v1/aliases/{}", encode_component(name)), &body)
            .await
    }

    async fn delete_alias(&self, name: &str) -> Result<()> {
        let req = self.request(
            Method::DELETE,
            &format!("/v1/aliases/{}", encode_component(name)),
        );
        self.send(req).await.map(|_| ())
    }

    async fn query_audit(&self, query: &AuditQuery) -> Result<Page<AuditEvent>> {
        let qs = audit_query_string(query)?;
        let page: AuditPage = self.get(&format!("/v1/audit?{qs}")).await?;
        Ok(Page {
            items: page.items,
            next_cursor: page.next_cursor,
        })
    }

    async fn follow_audit(
        &self,
        query: &AuditQuery,
    ) -> Result<BoxStream<'static, Result<AuditEvent>>> {
        let qs = audit_query_string(query)?;
        let req = self
            .request(Method::GET, &format!("/v1/audit/stream?{qs}"))
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let resp = self.send(req).await?;
        Ok(follow_stream(
            resp.bytes_stream().boxed(),
            self.base.clone(),
        ))
    }

    async fn cost(&self, since: time::OffsetDateTime) -> Result<keygate_core::cost::CostReport> {
        let since = since
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| Error::invalid("since is not a time RFC 3339 can write"))?;
        self.get(&format!("/v1/cost?since={}", encode_component(&since)))
            .await
    }

    async fn verify_audit(&self) -> Result<AuditVerification> {
        self.get("/v1/audit/verify").await
    }

    async fn verify_audit_from_checkpoint(&self) -> Result<AuditVerification> {
        self.get("/v1/audit/verify?from_checkpoint=true").await
    }

    async fn audit_checkpoint(&self) -> Result<AuditCheckpoint> {
        self.get("/v1/audit/checkpoint").await
    }

    async fn audit_public_key(&self) -> Result<String> {
        // The public key travels with every checkpoint.
        Ok(self.audit_checkpoint().await?.public_key)
    }

    async fn audit_inclusion_proof(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof> {
        let size = size.map(|n| format!("&size={n}")).unwrap_or_default();
        self.get(&format!("/v1/audit/proof?seq={seq}{size}")).await
    }

    async fn audit_consistency_proof(
        &self,
        old_size: u64,
        size: Option<u64>,
    ) -> Result<ConsistencyProof> {
        let size = size.map(|n| format!("&size={n}")).unwrap_or_default();
        self.get(&format!("/v1/audit/consistency?old_size={old_size}{size}"))
            .await
    }

    async fn create_token(&self, req: TokenRequest) -> Result<IssuedToken> {
        let reply: IssuedTokenBody = self.post("/v1/tokens", &req).await?;
        Ok(IssuedToken {
            info: reply.info,
            token: reply.token,
        })
    }

    async fn list_tokens(&self) -> Result<Vec<TokenInfo>> {
        self.get("/v1/tokens").await
    }

    async fn revoke_token(&self, id: &str) -> Result<TokenInfo> {
        let req = self.request(
            Method::DELETE,
            &format!("/v1/tokens/{}", encode_component(id)),
        );
        self.call(req).await
    }

    async fn get_access_policy(&self) -> Result<AccessPolicy> {
        self.get("/v1/policy").await
    }

    async fn set_access_policy(&self, policy: AccessPolicy) -> Result<AccessPolicy> {
        self.put("/v1/policy", &policy).await
    }
}

/// The first key and the others, as `/v1/encrypt` and `/v1/envelope/begin` take them.
fn split_keys(keys: &[KeyLocator]) -> Result<(String, Vec<String>)> {
    let (first, rest) = keys
        .split_first()
        .ok_or_else(|| Error::invalid("an envelope needs at least one key"))?;
    Ok((
        first.to_string(),
        rest.iter().map(ToString::to_string).collect(),
    ))
}

impl HttpGateway {
    /// `POST /v1/envelope/begin`.
    async fn begin_body(&self, body: BeginEnvelopeBody) -> Result<SealingKey> {
        let reply: SealingKeyBody = self.post("/v1/envelope/begin", &body).await?;
        let header_bytes = decode_reply("header", &reply.header)?;
        let (header, _) = EnvelopeHeader::decode(&header_bytes)?;
        Ok(SealingKey {
            header,
            data_key: decode_secret_reply("data_key", &reply.data_key)?,
        })
    }

    /// The path of `suffix` under one version of `key`:
    /// `/v1/keys/{key}/versions/{version}{suffix}`.
    fn version_path(key: &KeyLocator, version: &str, suffix: &str) -> String {
        Self::key_path(
            key,
            &format!("/versions/{}{suffix}", encode_component(version)),
        )
    }

    /// `POST /v1/keys/{key}/versions/{version}/{change}`, answering the version.
    async fn version_call(
        &self,
        key: &KeyLocator,
        version: &str,
        change: &str,
    ) -> Result<Resolved<KeyVersion>> {
        let path = Self::version_path(key, version, &format!("/{change}"));
        self.call_keyed(self.request(Method::POST, &path)).await
    }

    async fn decrypt_body(&self, body: DecryptBody) -> Result<Decrypted> {
        let reply: DecryptedBody = self.post("/v1/decrypt", &body).await?;
        Ok(Decrypted {
            plaintext: decode_secret_reply("plaintext", &reply.plaintext)?,
            key_uri: reply.key_uri,
            key_version: reply.key_version,
            context: reply.context,
        })
    }
}

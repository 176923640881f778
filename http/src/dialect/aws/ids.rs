//! Stable AWS key ids for keygate keys, and what a caller's `KeyId` names.
//!
//! AWS names a key by a UUID and an ARN built from it. keygate keys are named by URI, so the
//! dialect gives each key a random UUID v4 the first time it returns the key, and stores the
//! pair (table `aws_key_ids`) so the id never changes, whichever provider holds the key.
//!
//! A `KeyId` may be a UUID, a key ARN, `alias/<name>`, an alias ARN, or (a keygate
//! extension) a keygate key URI or key name. Everything but a plain name is turned into the
//! key's URI from the gateway store alone, without a provider call; the Gateway call that
//! follows does the authorization and the audit.

use keygate_core::api::Gateway as _;
use keygate_core::{Error, KeyLocator, KeyRef, Result};
use keygate_server::store::AwsKeyIds;

use super::AwsDialectConfig;
use super::error::AwsError;
use keygate_server::service::Session;

/// True for the canonical text form of a UUID.
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// A key as a request named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// What to pass to the Gateway: the key URI when known, else the keygate name.
    pub reference: String,
    /// The key's URI, when it could be found without a provider call.
    pub uri: Option<String>,
}

/// The dialect's view of the gateway store and settings, for one request.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    session: &'a Session,
    config: &'a AwsDialectConfig,
}

impl<'a> Keys<'a> {
    /// Ids for `session`'s requests under `config`.
    pub fn new(session: &'a Session, config: &'a AwsDialectConfig) -> Self {
        Self { session, config }
    }

    fn ids(&self) -> &dyn AwsKeyIds {
        self.session.service().aws_key_ids()
    }

    /// The ARN of the key with UUID `id`.
    pub fn arn(&self, id: &str) -> String {
        format!(
            "arn:aws:kms:{}:{}:key/{id}",
            self.config.region, self.config.account_id
        )
    }

    /// The ARN of `alias/<name>`.
    pub fn alias_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kms:{}:{}:alias/{name}",
            self.config.region, self.config.account_id
        )
    }

    /// The UUID of the key at `uri`, given now if it has none yet.
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn id_for(&self, uri: &str) -> Result<String> {
        let fresh = uuid::Uuid::new_v4().to_string();
        self.ids().aws_id_for(uri, &fresh).await
    }

    /// Gives a key created through the dialect its UUID (chosen before the key existed).
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn assign(&self, id: &str, uri: &str) -> Result<()> {
        self.ids().aws_assign(id, uri).await
    }

    /// The ARN of the key at `uri` (giving it a UUID if needed).
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn arn_for(&self, uri: &str) -> Result<String> {
        Ok(self.arn(&self.id_for(uri).await?))
    }

    async fn lookup_id(&self, id: &str) -> Result<Option<String>> {
        self.ids().aws_uri_of(id).await
    }

    /// The URI of the key `target` names: from the store, or for a plain keygate name by
    /// describing it (one Gateway call, audited as `keys:describe`).
    ///
    /// # Errors
    /// What describing the key reports.
    pub async fn uri(&self, target: &Target) -> Result<String> {
        match &target.uri {
            Some(uri) => Ok(uri.clone()),
            None => Ok(self.session.describe_key(&target.reference).await?.uri),
        }
    }

    /// The URI of the key `r` names.
    ///
    /// # Errors
    /// [`Error::NotFound`] when its provider is not registered.
    pub fn uri_of_ref(&self, r: &KeyRef) -> Result<String> {
        let provider = self.session.service().registry().provider(&r.provider)?;
        Ok(provider.info().key_uri(&r.id))
    }

    /// The registered provider that holds the key at `uri` (URI-prefix routing, no call).
    ///
    /// # Errors
    /// [`Error::NotFound`] when no registered provider owns the URI.
    pub async fn provider_of(&self, uri: &str) -> Result<String> {
        let resolved = self.session.service().registry().resolve(uri).await?;
        Ok(resolved.provider.info().name.clone())
    }

    /// What a request's `KeyId` names (see the module docs).
    ///
    /// # Errors
    /// `NotFoundException` for an unknown UUID, ARN or alias; `ValidationException` for an
    /// empty id or a malformed ARN.
    pub async fn resolve(&self, key_id: &str) -> std::result::Result<Target, AwsError> {
        let key_id = key_id.trim();
        if key_id.is_empty() || key_id.len() > 2048 {
            return Err(AwsError::validation(
                "1 validation error detected: Value at 'keyId' failed to satisfy constraint: \
                 Member must have length between 1 and 2048, inclusive",
            ));
        }
        let missing = || AwsError::not_found(format!("Key '{key_id}' does not exist"));
        if let Some(rest) = key_id.strip_prefix("arn:") {
            // arn:<partition>:kms:<region>:<account>:key/<id> or :alias/<name>
            let resource = rest
                .splitn(5, ':')
                .nth(4)
                .ok_or_else(|| AwsError::validation(format!("Invalid arn {key_id}")))?;
            if let Some(id) = resource.strip_prefix("key/") {
                return self.by_uuid(id).await?.ok_or_else(missing);
            }
            if let Some(alias) = resource.strip_prefix("alias/") {
                return self.by_alias(alias).await;
            }
            return Err(AwsError::validation(format!("Invalid arn {key_id}")));
        }
        if let Some(alias) = key_id.strip_prefix("alias/") {
            return self.by_alias(alias).await;
        }
        if is_uuid(key_id) {
            if let Some(found) = self.by_uuid(key_id).await? {
                return Ok(found);
            }
            return Err(missing());
        }
        match KeyLocator::parse(key_id).map_err(AwsError::from)? {
            KeyLocator::Uri { uri, .. } => Ok(Target {
                reference: uri.clone(),
                uri: Some(uri),
            }),
            _ => Ok(Target {
                reference: key_id.to_owned(),
                uri: None,
            }),
        }
    }

    async fn by_uuid(&self, id: &str) -> std::result::Result<Option<Target>, AwsError> {
        Ok(self.lookup_id(id).await?.map(|uri| Target {
            reference: uri.clone(),
            uri: Some(uri),
        }))
    }

    async fn by_alias(&self, alias: &str) -> std::result::Result<Target, AwsError> {
        let not_found =
            || AwsError::not_found(format!("Alias {} is not found.", self.alias_arn(alias)));
        if keygate_core::validate_name("alias", alias).is_err() {
            return Err(not_found());
        }
        let store = self.session.service().registry().store();
        let target = match store.resolve_alias(alias).await {
            Ok(target) => target,
            Err(Error::NotFound(_)) => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        let uri = self.uri_of_ref(&target)?;
        Ok(Target {
            reference: uri.clone(),
            uri: Some(uri),
        })
    }
}

//! Stable AWS key ids for keygate keys, and what a caller's `KeyId` names.
//!
//! AWS names a key by a UUID and an ARN built from it. keygate keys are named by URI, so the
//! dialect gives each key a random UUID v4 the first time it returns the key, and stores the
//! pair (table `aws_key_ids`) so the id never changes, whichever provider holds the key.
//!
//! Every ARN names the region the request was signed for. With a `[dialects.aws] regions`
//! table a key lives in one region (the one its `CreateKey` was signed for, kept beside its
//! UUID; else its provider's home region) and is found only there, as in AWS.
//!
//! A `KeyId` may be a UUID, a key ARN, `alias/<name>`, an alias ARN, or (a keygate
//! extension) a keygate key URI or key name. An ARN naming another account or another region
//! than the request's names no key. Everything but a plain name is turned into the
//! key's URI from the gateway store alone, without a provider call; the Gateway call that
//! follows does the authorization and the audit.

use keygate_core::{KeyLocator, Result};
use keygate_server::store::AwsKeyIds;

use super::AwsDialectConfig;
use super::error::AwsError;
use keygate_server::service::Session;

/// True for the canonical text form of a UUID.
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// The dialect's view of the gateway store and settings, for one request.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    session: &'a Session,
    config: &'a AwsDialectConfig,
    region: &'a str,
}

impl<'a> Keys<'a> {
    /// Ids for `session`'s requests under `config`, signed for `region`.
    pub fn new(session: &'a Session, config: &'a AwsDialectConfig, region: &'a str) -> Self {
        Self {
            session,
            config,
            region,
        }
    }

    /// The region the request was signed for.
    pub fn region(&self) -> &'a str {
        self.region
    }

    fn ids(&self) -> &dyn AwsKeyIds {
        self.session.service().aws_key_ids()
    }

    /// The ARN of the key with UUID `id`.
    pub fn arn(&self, id: &str) -> String {
        format!(
            "arn:aws:kms:{}:{}:key/{id}",
            self.region, self.config.account_id
        )
    }

    /// The ARN of `alias/<name>`.
    pub fn alias_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kms:{}:{}:alias/{name}",
            self.region, self.config.account_id
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

    /// Gives a key created through the dialect its UUID (chosen before the key existed) and
    /// the request's region.
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn assign(&self, id: &str, uri: &str) -> Result<()> {
        self.ids().aws_assign(id, uri, Some(self.region)).await
    }

    /// True when the key at `uri`, held by `provider`, is in the request's region: always
    /// without a `regions` table; with one, when its recorded region (else its provider's
    /// home region) is the request's.
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn in_region(&self, uri: &str, provider: &str) -> Result<bool> {
        if !self.config.is_regional() {
            return Ok(true);
        }
        let recorded = self.ids().aws_region_of(uri).await?;
        Ok(self.config.key_region(recorded.as_deref(), provider) == Some(self.region))
    }

    /// The filter of a listing: with a `regions` table, which keys (URI, provider) are in
    /// the request's region, from one read of the recorded regions.
    ///
    /// # Errors
    /// [`Error::Unavailable`] on a store failure.
    pub async fn region_filter(&self) -> Result<RegionFilter<'a>> {
        let recorded = if self.config.is_regional() {
            self.ids().aws_regions().await?
        } else {
            std::collections::BTreeMap::new()
        };
        Ok(RegionFilter {
            config: self.config,
            region: self.region,
            recorded,
        })
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

    /// What a request's `KeyId` names (see the module docs), as the [`KeyLocator`] the
    /// request's Gateway call takes: a key UUID or key ARN found in the id table becomes the
    /// key's URI; an alias or alias ARN, a keygate URI or name is passed on as it is, for the
    /// service to resolve (and authorize, and audit) once.
    ///
    /// # Errors
    /// `NotFoundException` for an unknown UUID or key ARN, or an alias name keygate cannot
    /// hold; `ValidationException` for an empty id or a malformed ARN.
    pub async fn resolve(&self, key_id: &str) -> std::result::Result<KeyLocator, AwsError> {
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
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            let [_, _, region, account, resource] = parts[..] else {
                return Err(AwsError::validation(format!("Invalid arn {key_id}")));
            };
            // AWS looks a key up in the region the request was signed for: an ARN naming
            // another region is "Invalid arn" there; keygate serves one account.
            let elsewhere = region != self.region;
            let other_account = account != self.config.account_id;
            if let Some(id) = resource.strip_prefix("key/") {
                if elsewhere {
                    return Err(AwsError::not_found("Invalid arn"));
                }
                if other_account {
                    return Err(missing());
                }
                return self.by_uuid(id).await?.ok_or_else(missing);
            }
            if let Some(alias) = resource.strip_prefix("alias/") {
                if elsewhere {
                    return Err(AwsError::not_found("Invalid arn"));
                }
                if other_account {
                    return Err(AwsError::not_found(format!("Alias {key_id} is not found.")));
                }
                return self.alias(alias);
            }
            return Err(AwsError::validation(format!("Invalid arn {key_id}")));
        }
        if let Some(alias) = key_id.strip_prefix("alias/") {
            return self.alias(alias);
        }
        if is_uuid(key_id) {
            return self.by_uuid(key_id).await?.ok_or_else(missing);
        }
        KeyLocator::parse(key_id).map_err(AwsError::from)
    }

    async fn by_uuid(&self, id: &str) -> std::result::Result<Option<KeyLocator>, AwsError> {
        Ok(self.lookup_id(id).await?.map(KeyLocator::Uri))
    }

    /// `alias/<name>` as a locator; a name keygate's aliases cannot have is not found, as
    /// AWS answers for an alias that does not exist.
    fn alias(&self, alias: &str) -> std::result::Result<KeyLocator, AwsError> {
        if keygate_core::validate_alias_name(alias).is_err() {
            return Err(self.alias_not_found(alias));
        }
        Ok(KeyLocator::Alias(alias.to_owned()))
    }

    /// True for `alias/<name>` and an alias ARN: what the operations that take only "the key
    /// ID or key ARN of the KMS key" refuse.
    pub fn is_alias(key_id: &str) -> bool {
        let key_id = key_id.trim();
        key_id.starts_with("alias/")
            || (key_id.starts_with("arn:")
                && key_id
                    .splitn(6, ':')
                    .nth(5)
                    .is_some_and(|r| r.starts_with("alias/")))
    }

    /// AWS's answer for an alias that does not exist.
    pub fn alias_not_found(&self, alias: &str) -> AwsError {
        AwsError::not_found(format!("Alias {} is not found.", self.alias_arn(alias)))
    }
}

/// Which listed keys are in a request's region (see [`Keys::region_filter`]).
#[derive(Debug)]
pub struct RegionFilter<'a> {
    config: &'a AwsDialectConfig,
    region: &'a str,
    recorded: std::collections::BTreeMap<String, String>,
}

impl RegionFilter<'_> {
    /// True when the key at `uri`, held by `provider`, is in the request's region.
    pub fn contains(&self, uri: &str, provider: &str) -> bool {
        !self.config.is_regional()
            || self
                .config
                .key_region(self.recorded.get(uri).map(String::as_str), provider)
                == Some(self.region)
    }
}

//! The KMS operations: one table from operation name to request type, gateway action (for
//! auditing a refused request) and handler.

mod aliases;
mod crypto;
mod import;
mod keys;
pub(super) mod policy;
mod rotation;
mod sign;

use keygate_core::access::Action;
use keygate_core::api::Gateway as _;
use keygate_core::{Error, KeyLocator, KeyState};
use keygate_server::registry::ResolvedKey;
use serde::de::DeserializeOwned;

/// The message of `UnknownOperationException`.
pub(crate) const UNKNOWN_OPERATION: &str =
    "The operation named in X-Amz-Target is not a KMS operation keygate serves.";

use super::AwsDialectConfig;
use super::error::AwsError;
use super::ids::Keys;
use keygate_server::service::Session;

/// What an operation runs with.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The caller's session: every key operation goes through it.
    pub session: &'a Session,
    /// Key ids and ARNs.
    pub keys: Keys<'a>,
    /// `[dialects.aws]`.
    pub config: &'a AwsDialectConfig,
    /// The gateway action of the operation (what a key id that names nothing is audited as).
    pub action: Action,
}

impl<'a> Ctx<'a> {
    /// The context of one admitted request, signed for `region`.
    pub fn new(
        session: &'a Session,
        config: &'a AwsDialectConfig,
        action: Action,
        region: &'a str,
    ) -> Self {
        Self {
            session,
            keys: Keys::new(session, config, region),
            config,
            action,
        }
    }

    /// The key a `KeyId` member names. A key id the dialect's table does not know, or a key
    /// of another region, goes to the service all the same ([`Session::missing_key`]):
    /// audited, and refused as a key the caller may not use when its rights stop at some
    /// keys.
    async fn target(&self, key_id: Option<String>) -> Result<KeyLocator, AwsError> {
        let key_id = super::wire::required(key_id, "keyId")?;
        let found = match self.keys.resolve(&key_id).await {
            Ok(target) => self.in_region(target, &key_id).await,
            other => other,
        };
        match found {
            Err(e) if e.code == "NotFoundException" => Err(self.missing(e).await),
            found => found,
        }
    }

    /// `e`, a key the caller named that is not there, audited as such.
    async fn missing(&self, e: AwsError) -> AwsError {
        match self
            .session
            .missing_key(self.action, e.message.clone())
            .await
        {
            Error::NotFound(_) => e,
            other => AwsError::from_core(other, None),
        }
    }

    /// The key `target` names and the provider holding it, from the registry and the
    /// gateway store alone (a keygate key name is described first: one audited
    /// `keys:describe`). `None` when it names nothing: the call that follows refuses it.
    ///
    /// # Errors
    /// The describe's error for a key name.
    async fn locate(&self, target: &KeyLocator) -> Result<Option<ResolvedKey>, AwsError> {
        let registry = self.session.service().registry();
        match target {
            KeyLocator::Name(_) => {
                let meta = self
                    .session
                    .describe_key(target)
                    .await
                    .map_err(|e| self.fail(e, target))?;
                Ok(registry
                    .provider(&meta.provider)
                    .await
                    .ok()
                    .map(|provider| ResolvedKey {
                        provider,
                        id: meta.id,
                    }))
            }
            other => Ok(registry.resolve(other).await.ok()),
        }
    }

    /// `target` when its key is in the request's region (always, without a `regions`
    /// table); AWS's `NotFoundException` when it is another region's.
    async fn in_region(&self, target: KeyLocator, key_id: &str) -> Result<KeyLocator, AwsError> {
        if !self.config.is_regional() {
            return Ok(target);
        }
        let Some(key) = self.locate(&target).await? else {
            return Ok(target);
        };
        if self
            .keys
            .in_region(&key.uri(), &key.provider.info().name)
            .await?
        {
            return Ok(target);
        }
        Err(match &target {
            KeyLocator::Alias(alias) => self.keys.alias_not_found(alias),
            _ => AwsError::not_found(format!("Key '{}' does not exist", key_id.trim())),
        })
    }

    /// The key a `KeyId` member of an operation that takes "the key ID or key ARN of the KMS
    /// key" names (AWS's reference for EnableKeyRotation, DisableKeyRotation,
    /// GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations, PutKeyPolicy,
    /// GetKeyPolicy, ListKeyPolicies, EnableKey, DisableKey, ScheduleKeyDeletion,
    /// CancelKeyDeletion, UpdateKeyDescription, TagResource, UntagResource,
    /// ListResourceTags, and CreateAlias's and UpdateAlias's TargetKeyId): an alias name or
    /// alias ARN names no key there, so it is AWS's `NotFoundException` (audited as a key
    /// the caller named that does not exist). keygate's own key URIs and names still work.
    async fn key_only(&self, key_id: Option<String>) -> Result<KeyLocator, AwsError> {
        let key_id = super::wire::required(key_id, "keyId")?;
        if Keys::is_alias(&key_id) {
            let e = AwsError::not_found(format!("Invalid keyId {}", key_id.trim()));
            return match self
                .session
                .missing_key(self.action, e.message.clone())
                .await
            {
                Error::NotFound(_) => Err(e),
                other => Err(AwsError::from_core(other, None)),
            };
        }
        self.target(Some(key_id)).await
    }

    /// The URI of the key `target` names: at once for a URI, else by describing it (one
    /// Gateway call, authorized and audited as `keys:describe`). For the operations that
    /// need a key's identity without using it (a listing's filter).
    async fn uri_of(&self, target: &KeyLocator) -> Result<String, AwsError> {
        match target {
            KeyLocator::Uri(uri) => Ok(uri.clone()),
            other => Ok(self
                .session
                .describe_key(other)
                .await
                .map_err(|e| self.fail(e, other))?
                .uri),
        }
    }

    /// `error` from a call on `target`, as AWS answers it: an invalid-state error on a key
    /// the call just found disabled is `DisabledException`; an alias that does not exist is
    /// AWS's `NotFoundException` naming the alias ARN.
    fn fail(&self, error: Error, target: &KeyLocator) -> AwsError {
        if let (Error::NotFound(_), KeyLocator::Alias(alias)) = (&error, target) {
            return self.keys.alias_not_found(alias);
        }
        let state = matches!(error, Error::InvalidState(_))
            .then(|| self.session.service().recent_key_state(target))
            .flatten();
        match (&error, state) {
            (Error::InvalidState(_), Some(KeyState::Disabled)) => {
                AwsError::bad("DisabledException", format!("{target} is disabled."))
            }
            _ => AwsError::from_core(error, state),
        }
    }
}

fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, AwsError> {
    // The SDKs send `{}` for an operation without members; tolerate an empty body too.
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        // serde's message names the member and the expected type, never a value.
        AwsError::serialization(format!("cannot read the request body: {e}"))
    })
}

fn to_body<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, AwsError> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "AWS dialect: cannot render a response");
        AwsError::internal()
    })
}

macro_rules! operations {
    ($($name:ident($module:ident::$handler:ident, $req:ty, $action:expr);)*) => {
        /// A parsed request of one operation.
        #[derive(Debug)]
        #[allow(clippy::large_enum_variant)]
        pub enum Request {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                $name($req),
            )*
        }

        /// Every operation this dialect serves, with the gateway action it performs: the
        /// dispatcher's own table, as data (tests enumerate the write operations from it).
        pub const OPERATIONS: &[(&str, Action)] = &[$((stringify!($name), $action),)*];

        /// True for an operation this dialect serves.
        pub fn is_known(op: &str) -> bool {
            matches!(op, $(stringify!($name))|*)
        }

        /// Parses the body of `op`.
        ///
        /// # Errors
        /// `UnknownOperationException` or `SerializationException`.
        pub fn parse(op: &str, body: &[u8]) -> Result<Request, AwsError> {
            match op {
                $(stringify!($name) => Ok(Request::$name(parse_body(body)?)),)*
                _ => Err(AwsError::bad("UnknownOperationException", UNKNOWN_OPERATION)),
            }
        }

        impl Request {
            /// The gateway action the operation performs.
            pub fn action(&self) -> Action {
                match self {
                    $(Self::$name(_) => $action,)*
                }
            }
        }

        /// Runs a request and renders its answer.
        ///
        /// # Errors
        /// The operation's error in AWS's shape.
        pub async fn run(cx: &Ctx<'_>, request: Request) -> Result<Vec<u8>, AwsError> {
            match request {
                $(Request::$name(req) => to_body(&$module::$handler(cx, req).await?),)*
            }
        }
    };
}

operations! {
    CreateKey(keys::create_key, keys::CreateKeyRequest, Action::KeysCreate);
    DescribeKey(keys::describe_key, keys::KeyIdRequest, Action::KeysDescribe);
    ListKeys(keys::list_keys, keys::ListRequest, Action::KeysList);
    EnableKey(keys::enable_key, keys::KeyIdRequest, Action::KeysEnable);
    DisableKey(keys::disable_key, keys::KeyIdRequest, Action::KeysDisable);
    ScheduleKeyDeletion(keys::schedule_deletion, keys::ScheduleDeletionRequest, Action::KeysDelete);
    CancelKeyDeletion(keys::cancel_deletion, keys::KeyIdRequest, Action::KeysUndelete);
    UpdateKeyDescription(keys::update_description, keys::UpdateDescriptionRequest, Action::KeysUpdate);
    TagResource(keys::tag_resource, keys::TagResourceRequest, Action::KeysUpdate);
    UntagResource(keys::untag_resource, keys::UntagResourceRequest, Action::KeysUpdate);
    ListResourceTags(keys::list_resource_tags, keys::ListRequest, Action::KeysDescribe);
    EnableKeyRotation(rotation::enable, rotation::EnableRotationRequest, Action::KeysRotate);
    DisableKeyRotation(rotation::disable, keys::KeyIdRequest, Action::KeysRotate);
    GetKeyRotationStatus(rotation::status, keys::KeyIdRequest, Action::KeysDescribe);
    RotateKeyOnDemand(rotation::rotate, keys::KeyIdRequest, Action::KeysRotate);
    ListKeyRotations(rotation::list, keys::ListRequest, Action::KeysDescribe);
    CreateAlias(aliases::create, aliases::AliasRequest, Action::AliasesWrite);
    UpdateAlias(aliases::update, aliases::AliasRequest, Action::AliasesWrite);
    DeleteAlias(aliases::delete, aliases::AliasRequest, Action::AliasesWrite);
    ListAliases(aliases::list, keys::ListRequest, Action::AliasesList);
    Encrypt(crypto::encrypt, crypto::EncryptRequest, Action::CryptoEncrypt);
    Decrypt(crypto::decrypt, crypto::DecryptRequest, Action::CryptoDecrypt);
    ReEncrypt(crypto::re_encrypt, crypto::ReEncryptRequest, Action::CryptoDecrypt);
    GenerateDataKey(crypto::generate_data_key, crypto::DataKeyRequest, Action::CryptoGenerateDataKey);
    GenerateDataKeyWithoutPlaintext(crypto::generate_data_key_without_plaintext, crypto::DataKeyRequest, Action::CryptoGenerateDataKey);
    GenerateRandom(crypto::generate_random, crypto::RandomRequest, Action::RandomGenerate);
    Sign(sign::sign, sign::SignRequest, Action::CryptoSign);
    Verify(sign::verify, sign::SignRequest, Action::CryptoVerify);
    GenerateMac(sign::generate_mac, sign::MacRequest, Action::CryptoMac);
    VerifyMac(sign::verify_mac, sign::MacRequest, Action::CryptoMac);
    GetPublicKey(sign::get_public_key, keys::KeyIdRequest, Action::KeysPublicKey);
    GetKeyPolicy(policy::get, policy::PolicyRequest, Action::KeysPolicyGet);
    PutKeyPolicy(policy::put, policy::PolicyRequest, Action::KeysPolicySet);
    ListKeyPolicies(policy::list, keys::ListRequest, Action::KeysPolicyGet);
    GetParametersForImport(import::get_parameters, import::ParametersRequest, Action::KeysImport);
    ImportKeyMaterial(import::import_material, import::ImportRequest, Action::KeysImport);
    DeleteImportedKeyMaterial(import::delete_material, keys::KeyIdRequest, Action::KeysImport);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bodies_parse_or_fail_as_serialization() {
        assert!(is_known("Encrypt") && !is_known("Explode"));
        let r = parse("Encrypt", br#"{"KeyId":"alias/a","Plaintext":"aGk="}"#).unwrap();
        assert_eq!(r.action(), Action::CryptoEncrypt);
        parse("ListKeys", b"").unwrap();
        for bad in [
            &b"not json"[..],
            br#"{"KeyId": 5}"#,
            br#"{"Plaintext": "***"}"#,
            br#"[]"#,
        ] {
            let e = parse("Encrypt", bad).unwrap_err();
            assert_eq!(e.code, "SerializationException");
        }
        assert_eq!(
            parse("Nope", b"{}").unwrap_err().code,
            "UnknownOperationException"
        );
    }
}

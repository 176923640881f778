//! What a call may do with the key it resolved to, checked before any provider call: the
//! usage every door requires of a cryptographic action, and a door's own rule (a cloud
//! dialect's, where that cloud refuses more than keygate does).
//!
//! Both run after the caller is authorized and before the intent row, so a refusal is one
//! audited `failure` row with the kind `invalid_key_usage` (or the rule's kind), and no
//! provider sees the request.

use std::fmt;
use std::sync::Arc;

use keygate_core::access::Action;
use keygate_core::{Error, KeyMetadata, KeyUsage, Result};

use super::Session;

/// A door's own rule on the key a call resolved to: `Err` refuses the call (audited) before
/// the provider is asked. It sees the action and the key's metadata.
#[derive(Clone)]
pub struct KeyRule(Arc<RuleFn>);

/// The function inside a [`KeyRule`].
type RuleFn = dyn Fn(Action, &KeyMetadata) -> Result<()> + Send + Sync;

impl KeyRule {
    /// A rule from a function of the action and the key.
    pub fn new(rule: impl Fn(Action, &KeyMetadata) -> Result<()> + Send + Sync + 'static) -> Self {
        Self(Arc::new(rule))
    }

    fn check(&self, action: Action, key: &KeyMetadata) -> Result<()> {
        (self.0)(action, key)
    }
}

impl fmt::Debug for KeyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyRule(..)")
    }
}

/// The usage a cryptographic action needs of its key; `None` for every other action.
pub fn required_usage(action: Action) -> Option<KeyUsage> {
    match action {
        Action::CryptoEncrypt | Action::CryptoDecrypt | Action::CryptoGenerateDataKey => {
            Some(KeyUsage::Encrypt)
        }
        Action::CryptoSign | Action::CryptoVerify => Some(KeyUsage::Sign),
        Action::CryptoMac => Some(KeyUsage::Mac),
        _ => None,
    }
}

/// [`Error::InvalidKeyUsage`] when `key`'s usage does not allow `action`. A key that is not
/// enabled is left to its provider, which names its state first (the provider contract's
/// order: state, then usage).
pub fn check_usage(action: Action, key: &KeyMetadata) -> Result<()> {
    let Some(needed) = required_usage(action) else {
        return Ok(());
    };
    if !key.state.is_usable() || key.usage == needed {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{} is {} {} key ({}); {action} needs {} {needed} key",
        key.uri,
        article(key.usage),
        key.usage,
        key.spec,
        article(needed),
    )))
}

/// The indefinite article before a usage's name: "an encrypt key", "a sign key".
fn article(usage: KeyUsage) -> &'static str {
    if usage.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

impl Session {
    /// This session with `rule` checked on every key a call resolves to, after the usage
    /// check: a door that refuses more than keygate does (the AWS dialect's rules on key
    /// specs) says so here, so the refusal is authorized, audited and made before any
    /// provider call, like every other.
    #[must_use]
    pub fn with_key_rule(mut self, rule: KeyRule) -> Self {
        self.rule = Some(rule);
        self
    }

    /// The usage check and the door's rule on the key `action` resolved to.
    pub(super) fn check_key(&self, action: Action, key: &KeyMetadata) -> Result<()> {
        check_usage(action, key)?;
        match &self.rule {
            Some(rule) => rule.check(action, key),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use keygate_core::{ErrorKind, KeySpec, KeyState};

    fn key(spec: KeySpec, usage: KeyUsage, state: KeyState) -> KeyMetadata {
        KeyMetadata {
            import: None,
            uri: "local://k".into(),
            provider: "local".into(),
            id: "k".into(),
            name: "k".into(),
            spec,
            usage,
            state,
            primary_version: Some("1".into()),
            rotation: None,
            labels: keygate_core::Labels::default(),
            description: String::new(),
            created: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn each_crypto_action_needs_its_usage() {
        let aes = key(KeySpec::Aes256, KeyUsage::Encrypt, KeyState::Enabled);
        let signer = key(KeySpec::Rsa2048, KeyUsage::Sign, KeyState::Enabled);
        let mac = key(KeySpec::HmacSha256, KeyUsage::Mac, KeyState::Enabled);
        check_usage(Action::CryptoEncrypt, &aes).unwrap();
        check_usage(Action::CryptoSign, &signer).unwrap();
        check_usage(Action::CryptoMac, &mac).unwrap();
        check_usage(Action::KeysDescribe, &mac).unwrap();
        for (action, k) in [
            (Action::CryptoSign, &aes),
            (Action::CryptoMac, &signer),
            (Action::CryptoEncrypt, &signer),
            (Action::CryptoGenerateDataKey, &mac),
            (Action::CryptoDecrypt, &mac),
            (Action::CryptoVerify, &aes),
        ] {
            let e = check_usage(action, k).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidKeyUsage, "{action}: {e}");
        }
        // A disabled key answers with its state, from its provider.
        let off = key(KeySpec::Aes256, KeyUsage::Encrypt, KeyState::Disabled);
        check_usage(Action::CryptoSign, &off).unwrap();
    }
}

//! `[envelope]`: how multi-key envelopes are opened and what keys they must carry.

use keygate_core::{Error, KeyMetadata, Result};
use serde::{Deserialize, Serialize};

/// `[envelope]`: the decrypt preference order and the minimum-key rules of envelopes.
///
/// ```toml
/// [envelope]
/// decrypt_order = ["local", "gcp", "aws"]
///
/// [[envelope.require]]
/// label = "tier=critical"
/// provider = "escrow"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnvelopeConfig {
    /// Registered provider names, most preferred first: decrypting an envelope sealed under
    /// several keys tries its keys of these providers in this order, then the others in the
    /// envelope's order (default: empty, the envelope's order).
    pub decrypt_order: Vec<String>,
    /// Minimum-key rules, checked whenever an envelope is sealed or re-wrapped.
    pub require: Vec<EnvelopeRule>,
}

/// One minimum-key rule: an envelope carrying any key labelled `label` must also carry a
/// key of provider `provider`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeRule {
    /// `name=value`: the label that triggers the rule.
    pub label: String,
    /// The registered provider name one of the envelope's keys must belong to.
    pub provider: String,
}

/// What a rule is checked against: each key of an envelope, its provider and (when this
/// gateway can read them) its metadata.
#[derive(Debug)]
pub struct EnvelopeKey<'a> {
    /// The key's URI (for the error message).
    pub uri: &'a str,
    /// The provider's registered name.
    pub provider: &'a str,
    /// The key's metadata; `None` for a key of a provider this gateway does not hold.
    pub meta: Option<&'a KeyMetadata>,
}

impl EnvelopeConfig {
    /// Checks the rules are well formed.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a label without `=` or an empty provider.
    pub fn validate(&self) -> Result<()> {
        for rule in &self.require {
            if rule.label_pair().is_none() {
                return Err(Error::invalid(format!(
                    "envelope.require: label {:?} is not name=value",
                    rule.label
                )));
            }
            if rule.provider.is_empty() {
                return Err(Error::invalid("envelope.require: empty provider"));
            }
        }
        Ok(())
    }

    /// Where a provider ranks in [`Self::decrypt_order`] (lower first; unlisted last).
    pub fn rank(&self, provider: &str) -> usize {
        self.decrypt_order
            .iter()
            .position(|p| p == provider)
            .unwrap_or(self.decrypt_order.len())
    }

    /// Checks an envelope's keys against every rule.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first rule broken and the key that triggered it.
    pub fn check(&self, keys: &[EnvelopeKey<'_>]) -> Result<()> {
        for rule in &self.require {
            let Some((name, value)) = rule.label_pair() else {
                continue;
            };
            let trigger = keys.iter().find(|k| {
                k.meta
                    .is_some_and(|m| m.labels.get(name).is_some_and(|v| v == value))
            });
            if let Some(trigger) = trigger
                && !keys.iter().any(|k| k.provider == rule.provider)
            {
                return Err(Error::invalid(format!(
                    "envelope policy: key {} is labelled {}, so the envelope must also carry a \
                     key of provider {:?} (add one with another --key)",
                    trigger.uri, rule.label, rule.provider
                )));
            }
        }
        Ok(())
    }
}

impl EnvelopeRule {
    fn label_pair(&self) -> Option<(&str, &str)> {
        self.label
            .split_once('=')
            .filter(|(name, _)| !name.is_empty())
    }
}

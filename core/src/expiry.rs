//! [`ExpiryPolicy`]: when a key's versions expire, and the notification before they do (Key
//! Vault's rotation policy `expiryTime`, its `Notify` action and a `Rotate` action triggered
//! before expiry).

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// The shortest expiry Key Vault accepts, in days.
pub const MIN_EXPIRY_DAYS: u32 = 28;

/// A key's expiry policy. A version expires `expiry_days` after it is made; a
/// `keys:notify` audit event is recorded `notify_days_before` days before the primary
/// version expires (once per primary version). keygate records expiry and notifies; it does
/// not refuse an expired version's use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiryPolicy {
    /// Days from a version's creation to its expiry.
    pub expiry_days: u32,
    /// Days before expiry to notify; `None` for no notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_days_before: Option<u32>,
    /// Days before expiry the rotation schedule rotates, when the schedule was set that way
    /// (Key Vault's `Rotate` action with `timeBeforeExpiry`); the schedule's period is then
    /// `expiry_days - rotate_days_before`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_days_before: Option<u32>,
}

impl ExpiryPolicy {
    /// Checks the policy: an expiry of at least [`MIN_EXPIRY_DAYS`], and notification and
    /// rotation leads shorter than the expiry.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        if self.expiry_days < MIN_EXPIRY_DAYS {
            return Err(Error::invalid(format!(
                "an expiry must be at least {MIN_EXPIRY_DAYS} days, not {}",
                self.expiry_days
            )));
        }
        for (what, lead) in [
            ("notification", self.notify_days_before),
            ("rotation", self.rotate_days_before),
        ] {
            if lead.is_some_and(|d| d == 0 || d >= self.expiry_days) {
                return Err(Error::invalid(format!(
                    "a {what} before expiry must be from 1 to {} days",
                    self.expiry_days - 1
                )));
            }
        }
        Ok(())
    }

    /// When a version made at `created` expires.
    pub fn expires(&self, created: OffsetDateTime) -> OffsetDateTime {
        created + Duration::days(i64::from(self.expiry_days))
    }

    /// When the notification for a version made at `created` is due; `None` without one.
    pub fn notify_at(&self, created: OffsetDateTime) -> Option<OffsetDateTime> {
        self.notify_days_before
            .map(|d| self.expires(created) - Duration::days(i64::from(d)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bounds_and_dates() {
        let p = ExpiryPolicy {
            expiry_days: 90,
            notify_days_before: Some(30),
            rotate_days_before: None,
        };
        p.validate().unwrap();
        let t0 = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(p.expires(t0), t0 + Duration::days(90));
        assert_eq!(p.notify_at(t0), Some(t0 + Duration::days(60)));
        for bad in [
            ExpiryPolicy {
                expiry_days: 27,
                ..p
            },
            ExpiryPolicy {
                notify_days_before: Some(90),
                ..p
            },
            ExpiryPolicy {
                notify_days_before: Some(0),
                ..p
            },
            ExpiryPolicy {
                rotate_days_before: Some(91),
                ..p
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}

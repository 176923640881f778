//! Calls that change one gateway object (an alias, a token, the access policy): the object
//! write commits in the same store transaction as the call's outcome audit row, after the
//! intent row (the call's audit is the [`ObjectWriter`](crate::store::ObjectWriter) they
//! write through).

use keygate_core::access::Action;
use keygate_core::api::Alias;
use keygate_core::{Error, KeyLocator, KeyRef, Result};

use super::Session;
use crate::store::{ObjectWrite, ObjectWriter as _, ObjectWritten};

impl Session {
    /// Writing an alias: `aliases:write`, plus `keys:describe` on the key it will point at.
    /// `write` builds the store write from the target's reference; it commits with the
    /// outcome row.
    pub(super) async fn alias_op<F>(&self, key: &KeyLocator, write: F) -> Result<Alias>
    where
        F: FnOnce(KeyRef) -> Result<ObjectWrite> + Send,
    {
        self.kind(Action::AliasesWrite)
            .scope(async {
                let mut audit = self.audit(Action::AliasesWrite);
                let result = async {
                    self.authorize(&mut audit, Action::AliasesWrite, None)?;
                    let (k, _) = self
                        .authorize_key(&mut audit, Action::KeysDescribe, key)
                        .await?;
                    audit.begin().await?;
                    let write = write(k.key_ref())?;
                    match audit.apply(write).await? {
                        ObjectWritten::Alias(alias) => Ok(alias),
                        other => Err(Error::unavailable(format!(
                            "gateway store: an alias write answered {other:?}"
                        ))),
                    }
                }
                .await;
                self.service.keys.clear();
                audit.done(result).await
            })
            .await
    }

    /// A call that changes one gateway object and nothing else (`write` builds the store
    /// write once the call is authorized and its intent durable): the change commits with
    /// the outcome row.
    pub(super) async fn object_op<F>(&self, action: Action, write: F) -> Result<ObjectWritten>
    where
        F: FnOnce() -> Result<ObjectWrite> + Send,
    {
        self.kind(action)
            .scope(async {
                let mut audit = self.audit(action);
                let result = async {
                    self.authorize(&mut audit, action, None)?;
                    audit.begin().await?;
                    let write = write()?;
                    audit.apply(write).await
                }
                .await;
                audit.done(result).await
            })
            .await
    }
}

//! Cross-provider aliases as a backend keeps them (migration `0001_aliases.sql`):
//! `alias/<name>` names a key in any registered provider.

use async_trait::async_trait;
use keygate_core::api::Alias;
use keygate_core::{KeyRef, Result, validate_alias_name};
use time::OffsetDateTime;

/// A new alias `alias/<name>` pointing at `target`, created now: every backend and the
/// service get the same name check from this one definition.
///
/// # Errors
/// [`Error::InvalidArgument`](keygate_core::Error::InvalidArgument) for a bad name.
pub fn new_alias(name: &str, target: &KeyRef) -> Result<Alias> {
    validate_alias_name(name)?;
    Ok(Alias {
        name: name.to_owned(),
        target: target.clone(),
        created: OffsetDateTime::now_utc(),
    })
}

/// Cross-provider aliases. Reached through the registry
/// ([`Registry::store`](crate::registry::Registry::store)), which resolves `alias/<name>`.
///
/// Every method fails with [`Error::Unavailable`](keygate_core::Error::Unavailable) when the
/// store cannot be reached or holds an alias it cannot read back.
#[async_trait]
pub trait Aliases: Send + Sync + std::fmt::Debug {
    /// Stores a new alias as given.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`](keygate_core::Error::AlreadyExists) when the name is taken;
    /// [`Error::InvalidArgument`](keygate_core::Error::InvalidArgument) for a time the store
    /// cannot hold.
    async fn insert_alias(&self, alias: &Alias) -> Result<()>;

    /// Points an existing alias at another key; returns the alias as stored.
    ///
    /// # Errors
    /// [`Error::NotFound`](keygate_core::Error::NotFound) when the alias does not exist.
    async fn update_alias(&self, name: &str, target: &KeyRef) -> Result<Alias>;

    /// Deletes an alias.
    ///
    /// # Errors
    /// [`Error::NotFound`](keygate_core::Error::NotFound) when the alias does not exist.
    async fn delete_alias(&self, name: &str) -> Result<()>;

    /// The key an alias points at.
    ///
    /// # Errors
    /// [`Error::NotFound`](keygate_core::Error::NotFound) when the alias does not exist.
    async fn resolve_alias(&self, name: &str) -> Result<KeyRef>;

    /// Every alias, by name.
    async fn list_aliases(&self) -> Result<Vec<Alias>>;
}

/// What every [`Aliases`] store can do with its required methods alone.
#[async_trait]
pub trait AliasesExt: Aliases {
    /// Creates `alias/<name>` pointing at `target`, created now. Every backend gets the
    /// same name check from this one definition.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](keygate_core::Error::InvalidArgument) for a bad name,
    /// [`Error::AlreadyExists`](keygate_core::Error::AlreadyExists) when taken.
    async fn create_alias(&self, name: &str, target: &KeyRef) -> Result<Alias> {
        let alias = new_alias(name, target)?;
        self.insert_alias(&alias).await?;
        Ok(alias)
    }
}

impl<T: Aliases + ?Sized> AliasesExt for T {}
